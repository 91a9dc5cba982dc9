"""The scalar reverse-mode engine: ``Value``, ``backward`` and ``grad``.

Every op is a row of ``rules.RULES``. This module builds nodes and runs the chain rule, once,
in ``_backpropagate``. What is specific to an op is generated from its row when the module
loads (and again whenever ``rules.override`` swaps a row): the operator and method of
``Value``, and each op's *local step* (the node's partials times its upstream gradient, added
into its inputs) in three flavours: floats into ``.grad`` (``backward`` and the lecture's
``node._backward()``), floats into a dict (``grad``), Values into a dict (``create_graph``).
The step's source comes from the row's own partials (see ``codegen``), so all three do the
same arithmetic as the rule.

Semantics of ``backward()`` called more than once: leaf gradients accumulate (as in torch,
so call ``zero_grad`` between steps), while each interior node's ``grad`` is overwritten with
this pass's value.

Memory: a node keeps its inputs in two slots (``_b`` holds the second input, or the constant
parameter of a one-input op such as ``x ** 2.5``) and nothing in a node points back at it (no
closures), so a graph is freed by reference counting alone.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from numbers import Real

from . import rules
from .codegen import Code, CodeMath, rule_code
from .graph import topological
from .rules import FLOAT, OPERATOR_METHODS, RULES, Rule

__all__ = ["VALUE_MATH", "Value", "grad"]

_new = object.__new__
# While ``backward`` sorts a graph, an interior node's ``.grad`` holds this object as a "seen"
# mark, so nodes need no slot for marking. Being -0.0 it is also the zero each interior gradient
# starts from (-0.0 + x is x exactly), so no second pass resets them.
_SEEN = float("-0.0")
_DONE = float("-0.0")  # a second -0.0 object (compared by identity): walked and in the order


class Value:
    """A scalar in a computation graph: its data, its gradient and how it was made."""

    __slots__ = ("_a", "_b", "_rule", "data", "grad", "label")

    def __init__(self, data: float, _children: Sequence = (), _op: str = "", label: str = "") -> None:
        if isinstance(_children, str):  # Value(2.0, "x"): the label as second positional argument
            _children, label = (), _children
        if isinstance(data, Value):
            data = data.data
        elif not isinstance(data, Real):
            if not hasattr(data, "__float__") or isinstance(data, (str, bytes)):
                raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}")
            try:
                data = float(data)  # numpy scalars and other number types
            except (TypeError, ValueError):
                raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}") from None
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._a = self._b = self._rule = None
        if _children:
            self._rule, self._a, self._b = _rule_from_op(_op, tuple(_children))

    # -- graph structure ----------------------------------------------------------
    @property
    def children(self) -> tuple[Value, ...]:
        """The inputs this value was computed from (empty for a leaf)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        return (a,) if b is None or b.__class__ is float else (a, b)

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the inputs (a set there too)."""
        return set(self.children)

    @property
    def rule(self) -> Rule | None:
        """The registry row that made this value (None for a leaf)."""
        return self._rule

    @property
    def op(self) -> str:
        """The name of the rule that made this value ('' for a leaf)."""
        return self._rule.name if self._rule is not None else ""

    @property
    def _op(self) -> str:
        """How the op is written in a graph picture (micrograd's ``_op``)."""
        rule = self._rule
        if rule is None:
            return ""
        return f"**{self._b:g}" if rule.params and rule.spelling.symbol == "**c" else rule.spelling.symbol

    @property
    def args(self) -> tuple:
        """Constant parameters of the op, such as the number exponent of ``powc``."""
        b = self._b
        return (b,) if b.__class__ is float else ()

    def _backward(self) -> None:
        """This node's local step: add its gradient times each local partial into its inputs' ``.grad``."""
        if self._rule is not None:
            _STEPS["slot"][self._rule.name](self, None)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return self.abs()

    # -- reverse mode ---------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``.grad`` of every node in this graph with d(self)/d(node), scaled by ``gradient``."""
        _backpropagate(self, float(gradient), None)

    def zero_grad(self) -> None:
        """Set ``.grad`` of every node in this graph to 0."""
        for node in topological(self):
            node.grad = 0.0


def _rule_from_op(op: str, children: tuple) -> tuple:
    """(rule, _a, _b) for micrograd-style construction ``Value(data, (a, b), '+')``."""
    inputs = tuple(c if isinstance(c, Value) else Value(c) for c in children)
    for rule in RULES.values():
        spelled = (rule.name, rule.spelling.symbol, rule.spelling.method)
        if op in spelled and rule.arity == len(inputs) and not rule.params:
            return rule, inputs[0], (inputs[1] if len(inputs) > 1 else None)
        if rule.params and op.startswith("**") and rule.spelling.symbol == "**c" and len(inputs) == 1:
            try:
                return rule, inputs[0], float(op[2:])
            except ValueError:
                break
    raise ValueError(f"unknown op {op!r} for {len(inputs)} input(s); ops: {', '.join(RULES)}")


def _coerce(x) -> Value | None:
    """x as a Value (numbers become constant leaves), or None for anything else."""
    cls = x.__class__
    if cls is float or cls is int or (not isinstance(x, Value) and isinstance(x, Real)):
        leaf = _new(Value)
        leaf.data = float(x)
        leaf.grad = 0.0
        leaf.label = ""
        leaf._a = leaf._b = leaf._rule = None
        return leaf
    return x if isinstance(x, Value) else None


def _lift(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _data(x) -> float:
    return x.data if isinstance(x, Value) else x


def _topological(root: Value) -> list[Value]:
    """Every node reachable from root, each after all of its inputs (see ``autodiff.graph``)."""
    return topological(root)


def _interior_order(root: Value) -> list[Value]:
    """The op nodes reachable from root, each after the op nodes among its inputs (no recursion).

    A depth-first walk, first input first, so the order is the same postorder as
    ``autodiff.graph.topological`` (and so are the sums of the gradients). A node is marked by its
    ``.grad``: ``_SEEN`` while its inputs are walked, then ``_DONE``; both are -0.0, where its
    gradient's sum starts, so no second pass resets them and nodes need no slot for marking.
    """
    order: list[Value] = []
    if root._rule is None:
        return order
    seen, done = _SEEN, _DONE
    stack: list[Value] = []  # nodes waiting to be emitted (marked seen) or walked (not marked)
    push, pop, append = stack.append, stack.pop, order.append
    node = root
    while True:
        # Walk ``node``: its first input now (without a trip through the stack), its second
        # after that, then the node itself; a node with nothing left to walk is emitted at once.
        a, b = node._a, node._b
        if b is not None and b.__class__ is not float and b._rule is not None and b.grad is not done:
            node.grad = seen
            push(node)
            push(b)  # walked after a, unless a's walk reaches it first
            if a._rule is not None and a.grad is not done:
                node = a
                continue
        elif a._rule is not None and a.grad is not done:
            node.grad = seen
            push(node)
            node = a
            continue
        else:
            node.grad = done
            append(node)
        while stack:
            node = pop()
            mark = node.grad
            if mark is seen:  # its inputs are in the order: so is it
                node.grad = done
                append(node)
            elif mark is not done:  # not reached since it was pushed: walk it
                break
        else:
            return order


def _backpropagate(root: Value, seed, grads: dict | None):
    """The chain rule, once: every node's local step, output first.

    With ``grads`` None the gradients go into ``.grad`` (``backward``); otherwise into the
    dict, seeded with ``root`` (``grad``: floats, or Values for ``create_graph``).
    """
    if grads is None:
        order = _interior_order(root)  # leaves every interior .grad at -0.0, the start of its sum
        root.grad += seed
        try:
            _LOOPS["slot"](order, None)
        except BaseException:
            for node in order:  # a step raised (a replaced rule): leave no mark for the next walk
                if node.grad is _SEEN or node.grad is _DONE:
                    node.grad = 0.0
            raise
    else:
        order = [node for node in topological(root) if node._rule is not None]
        grads[root] = seed
        _LOOPS["value" if isinstance(seed, Value) else "float"](order, grads)
    return grads


def grad(output: Value, inputs: Sequence[Value] | Iterable[Value], create_graph: bool = False) -> list[Value]:
    """d(output)/d(input) for each input, like ``torch.autograd.grad``; ``.grad`` is untouched.

    With ``create_graph=True`` each gradient is a Value built from the same rules,
    so it can be differentiated again (second and higher derivatives).
    """
    inputs = list(inputs)
    if not isinstance(output, Value) or not all(isinstance(v, Value) for v in inputs):
        raise TypeError("grad() takes a Value output and a sequence of Value inputs")
    if create_graph:
        grads = _backpropagate(output, Value(1.0), {})
        return [_lift(grads.get(v, 0.0)) for v in inputs]
    grads = _backpropagate(output, 1.0, {})
    return [Value(grads.get(v, 0.0)) for v in inputs]


# -- the namespace that evaluates rules on Values, so gradients are graphs too ----------------
class _ValueMath:
    """``m`` for Values: one function per registry row (numbers are lifted), plus the helpers."""

    @staticmethod
    def mul0(a, b):
        return 0.0 if _data(a) == 0 and not math.isfinite(_data(b)) else a * b

    @staticmethod
    def heaviside(x, h0):
        return FLOAT.heaviside(_data(x), h0)  # piecewise constant: no graph

    @staticmethod
    def sign(x):
        return FLOAT.sign(_data(x))

    @staticmethod
    def where(x, a, b):
        x = _data(x)
        return a if x > 0 else (b if x <= 0 else math.nan)


VALUE_MATH = _ValueMath()  # the namespace ``m`` that runs a case on Values: m.tanh(v), numbers lifted


# -- what is generated from the registry ----------------------------------------------------
_STEPS: dict[str, dict] = {}  # 'slot' | 'float' | 'value' -> op name -> that op's local step
_LOOPS: dict[str, object] = {}  # the same keys -> the chain-rule loop with those steps inline


def _step_body(rule: Rule, into: str, mode: str, ns: CodeMath) -> list[str]:
    """Lines of one op's local step for ``node`` with upstream gradient ``g`` (``into``: 'slot' or
    'dict'; ``mode``: 'float' or 'value'), written by the row's partials on the code namespace ``ns``."""
    inputs = ["x", "y"][:rule.arity]
    params = ["c"] if rule.params else []
    names = ["z", *inputs, *params]
    codes = [Code(n, ns) for n in names]
    texts = [ns.source(p if p.__class__ is float else rule_code(ns, p, codes)) for p in rule.partials]
    used = set(re.findall(r"\b[a-z]\w*", " ".join(texts)))
    # Bind only what the partials read: x is a.data (or a itself for Values), z the node's output.
    sources = {"z": "node.data" if mode == "float" else "node",
               "x": "a.data" if mode == "float" else "a", "y": "b.data" if mode == "float" else "b", "c": "b"}
    lines = ["a = node._a"]
    if rule.arity == 2 or params:
        lines.append("b = node._b")
    lines += [f"{n} = {sources[n]}" for n in names if n in used]
    for target, text in zip(["a", "b"], texts):
        # g * 1.0 is g and g * -1.0 is -g, bit for bit (nan, inf and -0.0 included): skip the product.
        text = {"1.0": "g", "(-1.0)": "(-g)"}.get(text, f"g * {text}")
        if into == "slot":
            lines.append(f"{target}.grad += {text}")
        else:
            lines += [f"d = {text}", f"old = grads.get({target})",
                      f"grads[{target}] = d if old is None else old + d"]
    return lines


def _compile_steps(into: str, mode: str) -> tuple[dict, object]:
    """Each op's local step as a function, and the chain-rule loop with every step written inline."""
    ns = CodeMath(FLOAT if mode == "float" else VALUE_MATH)
    env = ns.globals
    steps, loop = {}, []
    upstream = "g = node.grad" if into == "slot" else "g = grads[node]"
    for k, rule in enumerate(RULES.values()):
        body = _step_body(rule, into, mode, ns)
        env[f"R{k}"] = rule
        source = "def step(node, grads):\n" + "".join(f"    {line}\n" for line in [upstream, *body])
        exec(compile(source, f"<{rule.name} step, {into} {mode}>", "exec"), env)
        steps[rule.name] = env.pop("step")
        test = f"        {'if' if k == 0 else 'elif'} rule is R{k}:\n"
        loop.append(test + "".join(f"            {line}\n" for line in body))
    env["STEPS"] = steps
    # The one chain-rule loop: output first, each node's local step (a rule replaced since the
    # node was made is found by name).
    source = ("def run(order, grads):\n"
              "    for node in reversed(order):\n"
              "        rule = node._rule\n"
              f"        {upstream}\n"
              + "".join(loop) +
              "        else:\n"
              "            STEPS[rule.name](node, grads)\n")
    exec(compile(source, f"<chain rule, {into} {mode}>", "exec"), env)
    return steps, env["run"]


def _method_source(rule: Rule, ns: CodeMath) -> tuple[str, str]:
    """(name, source) of the Value method or operator that makes a node of ``rule`` (its forward
    written on the float code namespace ``ns``)."""
    inputs = ["self", "other"][:rule.arity]
    params = list(rule.params)
    if rule.spelling.operator == "neg":
        name, signature = "__neg__", "self"
    elif rule.spelling.operator and not params:
        name, signature = OPERATOR_METHODS[rule.spelling.operator][0], "self, other"
    elif rule.spelling.operator:
        name, signature = f"_{rule.name}", "self, c"
        params = ["c"]
    else:
        defaults = dict(zip(rule.params[len(rule.params) - len(rule.defaults):], rule.defaults))
        sig = inputs + [f"{p}={defaults[p]!r}" if p in defaults else p for p in rule.params]
        name, signature = rule.spelling.method, ", ".join(sig)
    data = [Code(f"{v}.data", ns) for v in inputs] + [Code(p, ns) for p in params]
    forward = ns.source(rule_code(ns, rule.forward, data))
    lines = []
    lines.append(f"def {name}({signature}):")
    if rule.arity == 2:
        lines += ["    if other.__class__ is not Value:",
                  "        other = _coerce(other)",
                  "        if other is None:",
                  "            return NotImplemented"]
    for p in params:
        lines.append(f"    {p} = float({p})")
    lines += ["    out = _new(Value)",
              f"    out.data = {forward}",
              "    out.grad = 0.0",
              "    out.label = ''",
              "    out._a = self",
              f"    out._b = {'other' if rule.arity == 2 else (params[0] if params else 'None')}",
              "    out._rule = RULE",
              "    return out"]
    return name, "\n".join(lines) + "\n"


def _reflected(name: str):
    forward = getattr(Value, name)

    def reflected(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else forward(other, self)

    reflected.__name__ = name.replace("__", "__r", 1)
    return reflected


def _power(self, other):
    """``**``: a Value exponent is ``pow``, a number exponent is ``powc``."""
    if isinstance(other, Value):
        return Value._pow_values(self, other)
    if isinstance(other, Real):
        return self._powc(other)
    return NotImplemented


def _generate() -> None:
    """(Re)build the Value operators and methods, the local steps and VALUE_MATH from the registry."""
    for rule in RULES.values():
        _install_value_math(rule)
    for key, into, mode in (("slot", "slot", "float"), ("float", "dict", "float"), ("value", "dict", "value")):
        _STEPS[key], _LOOPS[key] = _compile_steps(into, mode)
    for rule in RULES.values():
        ns = CodeMath(FLOAT)
        name, source = _method_source(rule, ns)
        env = {**ns.globals, "Value": Value, "_coerce": _coerce, "_new": _new, "RULE": rule}
        exec(compile(source, f"<{rule.name} method>", "exec"), env)
        method = env[name]
        method.__doc__ = f"{rule.name}: a new node of this registry row."
        if rule.spelling.operator == "**" and rule.arity == 2:
            name = "_pow_values"
        setattr(Value, name, method)
        if rule.spelling.method and name != rule.spelling.method:
            setattr(Value, rule.spelling.method, method)
        if rule.spelling.operator not in (None, "neg", "**") and not rule.params:
            setattr(Value, name.replace("__", "__r", 1), _reflected(name))
    Value.__pow__ = _power
    Value.__rpow__ = _reflected_power
    Value._mul_add = staticmethod(_mul_add_function())


def _mul_add_function():
    """``acc + w * x`` for three Values in one call: the mul node and the add node as their rows'
    methods make them (same forward code, same fields), one Python call instead of two. A
    neuron's weighted sum is all this; anything but three plain Values takes the operators."""
    ns = CodeMath(FLOAT)
    mul, add = RULES["mul"], RULES["add"]
    product = ns.source(rule_code(ns, mul.forward, [Code("w.data", ns), Code("x.data", ns)]))
    total = ns.source(rule_code(ns, add.forward, [Code("acc.data", ns), Code("m.data", ns)]))
    source = ("def mul_add(acc, w, x):\n"
              "    if x.__class__ is not Value or w.__class__ is not Value or acc.__class__ is not Value:\n"
              "        return acc + w * x\n"
              "    m = _new(Value)\n"
              f"    m.data = {product}\n"
              "    m.grad = 0.0\n    m.label = ''\n    m._a = w\n    m._b = x\n    m._rule = MUL\n"
              "    out = _new(Value)\n"
              f"    out.data = {total}\n"
              "    out.grad = 0.0\n    out.label = ''\n    out._a = acc\n    out._b = m\n    out._rule = ADD\n"
              "    return out\n")
    env = {**ns.globals, "Value": Value, "_new": _new, "MUL": mul, "ADD": add}
    exec(compile(source, "<mul_add>", "exec"), env)
    return env["mul_add"]


def _reflected_power(self, other):
    """``2 ** x``: the number becomes a constant base of ``pow``."""
    base = _coerce(other)
    return NotImplemented if base is None else Value._pow_values(base, self)


def _install_value_math(rule: Rule) -> None:
    if rule.spelling.operator == "neg":
        fn = lambda x: -_lift(x)
    elif rule.spelling.operator:
        op = OPERATOR_METHODS[rule.spelling.operator][0]
        fn = lambda x, y, _op=op: getattr(_lift(x), _op)(y)
    else:
        fn = lambda x, *rest, _m=rule.spelling.method: getattr(_lift(x), _m)(*rest)
    setattr(_ValueMath, rule.name, staticmethod(fn))


_generate()
rules.on_change(_generate)
