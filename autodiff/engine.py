"""The scalar reverse-mode engine: ``Value``, ``backward`` and ``grad``.

Every op is a row of ``rules.RULES``; this module builds nodes and runs the chain
rule: ``_backpropagate`` in any namespace (floats, or Values for ``create_graph``),
and ``Value.backward`` as its float twin that writes straight into ``.grad``.

Semantics of ``backward()`` called more than once: leaf gradients accumulate
(as in torch, so call ``zero_grad`` between steps), while each interior node's
``grad`` is overwritten with this pass's value. A second pass therefore adds
exactly one more gradient to the leaves, never a compounded one.

Speed and memory: a node keeps its (at most two) inputs in slots rather than in a
tuple or set, and nothing in a node points back at it (no closures), so a graph is
freed by reference counting alone and the cyclic collector has half the objects to
look at.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Real

from .rules import FLOAT, RULES, Rule

__all__ = ["VALUE_MATH", "Value", "grad"]

_R = RULES
_new = object.__new__
# The rules the operators use, looked up once (a planted-bug copy of this module may swap _R).
_ADD, _SUB, _MUL, _DIV = _R["add"], _R["sub"], _R["mul"], _R["div"]


class Value:
    """A scalar in a computation graph: its data, its gradient and how it was made."""

    __slots__ = ("_a", "_arg", "_b", "_rule", "data", "grad", "label")

    def __init__(self, data: float, label: str = "") -> None:
        if isinstance(data, Value):
            data = data.data
        elif not isinstance(data, Real):
            raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self._a = self._b = self._rule = self._arg = None
        self.label = label

    # -- graph structure, for drawing and for other tools -------------------------
    @property
    def children(self) -> tuple[Value, ...]:
        """The inputs this value was computed from (empty for a leaf)."""
        if self._a is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    _prev = children  # micrograd's name for the same thing

    @property
    def rule(self):
        """The registry row that made this value (None for a leaf)."""
        return self._rule

    @property
    def op(self) -> str:
        """The name of the rule that made this value ('' for a leaf)."""
        return self._rule.name if self._rule is not None else ""

    @property
    def args(self) -> tuple:
        """Constant parameters of the op, such as the number exponent of ``powc``."""
        return () if self._arg is None else (self._arg,)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- operators ---------------------------------------------------------------
    def __add__(self, other):
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        return _make2(_ADD, self, other)

    def __radd__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make2(_ADD, other, self)

    def __sub__(self, other):
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        return _make2(_SUB, self, other)

    def __rsub__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make2(_SUB, other, self)

    def __mul__(self, other):
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        return _make2(_MUL, self, other)

    def __rmul__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make2(_MUL, other, self)

    def __truediv__(self, other):
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        return _make2(_DIV, self, other)

    def __rtruediv__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make2(_DIV, other, self)

    def __pow__(self, other):
        if isinstance(other, Value):
            return _make2(_R["pow"], self, other)
        if isinstance(other, Real):
            return _make1(_R["powc"], self, other)
        return NotImplemented

    def __rpow__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make2(_R["pow"], other, self)

    def __neg__(self):
        return _make1(_R["neg"], self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _make1(_R["abs"], self)

    # -- functions ---------------------------------------------------------------
    def neg(self) -> Value:
        return _make1(_R["neg"], self)

    def exp(self) -> Value:
        return _make1(_R["exp"], self)

    def log(self) -> Value:
        return _make1(_R["log"], self)

    def tanh(self) -> Value:
        return _make1(_R["tanh"], self)

    def sigmoid(self) -> Value:
        return _make1(_R["sigmoid"], self)

    def relu(self) -> Value:
        return _make1(_R["relu"], self)

    def sin(self) -> Value:
        return _make1(_R["sin"], self)

    def cos(self) -> Value:
        return _make1(_R["cos"], self)

    def sqrt(self) -> Value:
        return _make1(_R["sqrt"], self)

    def abs(self) -> Value:
        return _make1(_R["abs"], self)

    # -- reverse mode ------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``.grad`` of every node in this graph with d(self)/d(node).

        The float twin of ``_backpropagate``, writing straight into ``.grad``: same
        rules, same order of accumulation, so the same numbers (the tests check this).
        """
        order = _topological(self)
        for node in order:
            if node._rule is not None:
                node.grad = 0.0
        self.grad += float(gradient)
        m = FLOAT
        for node in reversed(order):
            rule = node._rule
            if rule is None:
                continue
            g = node.grad
            a, b = node._a, node._b
            if b is not None:
                p, q = rule.partials
                if p.__class__ is not float:
                    p = p(m, node.data, a.data, b.data)
                if q.__class__ is not float:
                    q = q(m, node.data, a.data, b.data)
                a.grad += g * p
                b.grad += g * q
            else:
                (p,) = rule.partials
                if p.__class__ is not float:
                    p = p(m, node.data, a.data) if node._arg is None else p(m, node.data, a.data, node._arg)
                a.grad += g * p


def _coerce(x) -> Value | None:
    """x as a Value (numbers become constant leaves), or None for anything else."""
    cls = x.__class__
    if cls is Value or isinstance(x, Value):
        return x
    if cls is float or cls is int or isinstance(x, Real):
        leaf = _new(Value)
        leaf.data = float(x)
        leaf.grad = 0.0
        leaf._a = leaf._b = leaf._rule = leaf._arg = None
        leaf.label = ""
        return leaf
    return None


# Two node makers, written out slot by slot rather than one with branches or a shared
# helper: every op of every forward pass comes through here.
def _make2(rule: Rule, a: Value, b: Value) -> Value:
    """A new node of a two-input rule."""
    out = _new(Value)
    out.data = rule.forward(FLOAT, a.data, b.data)
    out.grad = 0.0
    out._a = a
    out._b = b
    out._rule = rule
    out._arg = None
    out.label = ""
    return out


def _make1(rule: Rule, a: Value, arg=None) -> Value:
    """A new node of a one-input rule (``arg``: its constant parameter, if any)."""
    out = _new(Value)
    out.data = float(rule.forward(FLOAT, a.data) if arg is None else rule.forward(FLOAT, a.data, arg))
    out.grad = 0.0
    out._a = a
    out._b = None
    out._rule = rule
    out._arg = arg
    out.label = ""
    return out


def _topological(root: Value) -> list[Value]:
    """Every node reachable from root, each after all of its inputs (no recursion)."""
    order: list[Value] = []
    seen = {root}
    stack = [root]
    push, pop, append, mark = stack.append, stack.pop, order.append, seen.add
    while stack:
        node = stack[-1]
        a = node._a
        if a is not None and a not in seen:
            mark(a)
            push(a)
            continue
        b = node._b
        if b is not None and b not in seen:
            mark(b)
            push(b)
            continue
        # Both inputs are seen, and in a DAG a seen input is already in order.
        append(pop())
    return order


class _ValueMath:
    """The namespace that evaluates rules on Values, so gradients are graphs too."""

    @staticmethod
    def div(x, y):
        return x / y

    @staticmethod
    def pow(x, y):
        return x ** y

    @staticmethod
    def mul0(x, y):
        return 0.0 if _data(x) == 0 else x * y

    @staticmethod
    def step(x):
        return FLOAT.step(_data(x))  # piecewise constant: no graph

    @staticmethod
    def sign(x):
        return FLOAT.sign(_data(x))


for _name in ("exp", "log", "tanh", "sigmoid", "relu", "sin", "cos", "sqrt", "abs"):
    setattr(_ValueMath, _name, staticmethod(lambda x, _n=_name: getattr(_lift(x), _n)()))
_VALUES = _ValueMath()
VALUE_MATH = _VALUES  # the namespace ``m`` that runs a case on Values: m.tanh(v), numbers lifted


def _data(x) -> float:
    return x.data if isinstance(x, Value) else x


def _lift(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _backpropagate(root: Value, seed, m) -> dict:
    """The chain rule, once: d(root)/d(node) for every node, in namespace ``m``.

    With the float namespace the partials are numbers; with the Value namespace
    they are new nodes, so the returned gradients can be differentiated again.
    """
    on_values = m is _VALUES
    grads = {root: seed}
    get = grads.get
    for node in reversed(_topological(root)):
        rule = node._rule
        if rule is None:
            continue
        g = grads[node]
        inputs = node.children
        if on_values:
            z, args = node, inputs + node.args
        else:
            z, args = node.data, tuple([v.data for v in inputs]) + node.args
        for i, child in enumerate(inputs):
            contribution = g * rule.partial(i, m, z, *args)
            previous = get(child)
            grads[child] = contribution if previous is None else previous + contribution
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
        grads = _backpropagate(output, Value(1.0), _VALUES)
        return [_lift(grads.get(v, 0.0)) for v in inputs]
    grads = _backpropagate(output, 1.0, FLOAT)
    return [Value(grads.get(v, 0.0)) for v in inputs]

