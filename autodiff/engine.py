"""The scalar reverse-mode engine: ``Value``, ``backward`` and ``grad``.

Every op is a row of ``rules.RULES``. This module builds nodes and runs the chain rule. What is
specific to an op is written from its row into ``_generated.py`` by ``python -m autodiff.regenerate``
(and checked in): the operators and methods ``Value`` inherits from ``ValueOps``, and the
chain-rule loops, one per mode, with each op's *local step* inline (the node's partials times its
upstream gradient, added into its inputs): floats into ``.grad`` (``backward``), floats into a
dict (``grad``), Values into a dict (``create_graph``). The code comes from the row's own forward
and partials (see ``codegen``), so it does the same arithmetic as the rule. ``_local_step`` does
one node's step straight from its row (the lecture's ``node._backward()``), with the same result.

``rules.override`` swaps a row everywhere: while a row is replaced, the same generator's text for
the registry as it is runs from memory in place of ``_generated.py``.

Semantics of ``backward()`` called more than once: leaf gradients accumulate (as in torch,
so call ``zero_grad`` between steps), while each interior node's ``grad`` is overwritten with
this pass's value.

Memory: a node keeps its inputs in two slots (``_b`` holds the second input, or the constant
parameter of a one-input op such as ``x ** 2.5``) and nothing in a node points back at it (no
closures), so a graph is freed by reference counting alone.
"""
from __future__ import annotations

import linecache
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from numbers import Real

from . import _generated, rules
from .codegen import COMMAND, ENGINE_NAMES, engine_module
from .graph import topological
from .rules import FLOAT, OPERATOR_METHODS, RULES, Rule

__all__ = ["VALUE_MATH", "Value", "grad"]

_new = object.__new__
# While ``backward`` sorts a graph, an interior node's ``.grad`` holds this object as a "seen"
# mark, so nodes need no slot for marking. Being -0.0 it is also the zero each interior gradient
# starts from (-0.0 + x is x exactly), so no second pass resets them.
_SEEN = float("-0.0")
_DONE = float("-0.0")  # a second -0.0 object (compared by identity): walked and in the order


class Value(_generated.ValueOps):
    """A scalar in a computation graph: its data, its gradient and how it was made.

    The operators and op methods (``+``, ``tanh``, ...) come from ``ValueOps``, written from the
    rows into ``_generated.py``; ``**`` picks the row by the exponent's type (below).
    """

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
            _local_step(self, None, False)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return self.abs()

    def __pow__(self, other) -> Value:
        """``**``: a Value exponent is the row ``pow``, a number exponent the row ``powc``."""
        if isinstance(other, Value):
            return self._pow_values(other)
        if isinstance(other, Real):
            return self._powc(other)
        return NotImplemented

    def __rpow__(self, other) -> Value:
        """``2 ** x``: the number becomes a constant base of ``pow``."""
        base = _coerce(other)
        return NotImplemented if base is None else base._pow_values(self)

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


# -- the code generated from the registry, and how it follows rules.override ------------------------
_LOOPS: dict[str, Callable] = {}  # 'slot' | 'float' | 'value' -> the chain-rule loop of that mode in use
_SHADOWING: list[str] = []  # Value attributes that code regenerated in memory puts over ValueOps's


def _local_step(node: Value, grads: dict | None = None, on_values: bool = False) -> None:
    """One node's local step, read from its row as the registry has it now: each input gets the
    node's gradient times that input's partial, into its ``.grad`` (``grads`` None) or into ``grads``
    (as Values with ``on_values``). The generated loops do the same arithmetic inline."""
    rule = RULES[node._rule.name]
    a, b = node._a, node._b
    inputs = (a, b)[:rule.arity]
    params = (b,) if rule.params else ()
    if on_values:
        m, z, args = VALUE_MATH, node, (*inputs, *params)
    else:
        m, z, args = FLOAT, node.data, (*(v.data for v in inputs), *params)
    g = node.grad if grads is None else grads[node]
    for child, partial in zip(inputs, rule.partials):
        # As the generated code: a constant slope of 1 or -1 is g or -g (bit for bit g * 1.0 and
        # g * -1.0), any other slope a product.
        if partial.__class__ is not float:
            d = g * partial(m, z, *args)
        elif partial == 1.0:
            d = g
        elif partial == -1.0:
            d = -g
        else:
            d = g * partial
        if grads is None:
            child.grad += d
        else:
            old = grads.get(child)
            grads[child] = d if old is None else old + d


def _install(code: dict) -> None:
    """Put generated code (a module's namespace) to work: bind the engine's names in it, use its
    loops, and its methods unless they are ``ValueOps``'s own (those ``Value`` inherits)."""
    code.update({name: globals()[name] for name in ENGINE_NAMES})
    _LOOPS.update(slot=code["chain_rule_into_grad"], float=code["chain_rule_floats"],
                  value=code["chain_rule_values"])
    while _SHADOWING:
        delattr(Value, _SHADOWING.pop())
    if code["ValueOps"] is not _generated.ValueOps:
        for name, method in vars(code["ValueOps"]).items():
            if callable(method):
                setattr(Value, name, method)
                _SHADOWING.append(name)


def _regenerated() -> dict:
    """The generated module's text for the registry as it is now, run from memory (its lines are
    kept for tracebacks)."""
    text = engine_module()
    filename = "<autodiff._generated, regenerated in memory for the rows as they are>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = {"__name__": _generated.__name__, "__package__": __package__}
    exec(compile(text, filename, "exec"), code)
    return code


def _follow_the_registry() -> None:
    """Run the code generated from the rows as they are: ``_generated.py`` while they are the rows it
    was written from, else (``rules.override``, or a row added but not yet written out) the same
    text regenerated in memory."""
    for rule in RULES.values():
        _install_value_math(rule)
    shipped = _generated.ROWS
    if shipped.keys() == RULES.keys() and all(RULES[name] is row for name, row in shipped.items()):
        _install(vars(_generated))
    else:
        _install(_regenerated())


def _install_value_math(rule: Rule) -> None:
    """``VALUE_MATH.<row>``: the row's method or operator on Values (numbers lifted)."""
    if rule.spelling.operator == "neg":
        fn = lambda x: -_lift(x)
    elif rule.spelling.operator:
        op = OPERATOR_METHODS[rule.spelling.operator][0]
        fn = lambda x, y, _op=op: getattr(_lift(x), _op)(y)
    else:
        fn = lambda x, *rest, _m=rule.spelling.method: getattr(_lift(x), _m)(*rest)
    setattr(_ValueMath, rule.name, staticmethod(fn))


if _generated.ROWS.keys() != RULES.keys():  # a row added or removed since it was written: work, but say so
    _changed = ", ".join(sorted(_generated.ROWS.keys() ^ RULES.keys()))
    warnings.warn(f"autodiff/_generated.py is stale ({_changed}): run `{COMMAND}`; until then its code for the "
                  "rows as they are runs from memory", stacklevel=1)
_follow_the_registry()
rules.on_change(_follow_the_registry)
