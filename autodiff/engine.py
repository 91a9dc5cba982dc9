"""The scalar reverse-mode engine: ``Value``, ``backward`` and ``grad``.

Every op is a row of ``rules.RULES``; this module only builds nodes and runs the
chain rule, once, in ``_backpropagate``.

Semantics of ``backward()`` called more than once: leaf gradients accumulate
(as in torch, so call ``zero_grad`` between steps), while each interior node's
``grad`` is overwritten with this pass's value. A second pass therefore adds
exactly one more gradient to the leaves, never a compounded one.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Real

from .rules import FLOAT, RULES, Rule

__all__ = ["Value", "grad"]

_R = RULES
_NO_ARGS: tuple = ()


class Value:
    """A scalar in a computation graph: its data, its gradient and how it was made."""

    __slots__ = ("_args", "_prev", "_rule", "data", "grad", "label")

    def __init__(self, data: float, label: str = "") -> None:
        if isinstance(data, Value):
            data = data.data
        elif not isinstance(data, Real):
            raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self._prev: tuple[Value, ...] = _NO_ARGS
        self._rule: Rule | None = None
        self._args: tuple = _NO_ARGS
        self.label = label

    # -- graph structure, for drawing and for other tools -------------------------
    @property
    def children(self) -> tuple[Value, ...]:
        """The inputs this value was computed from (empty for a leaf)."""
        return self._prev

    @property
    def op(self) -> str:
        """The name of the rule that made this value ('' for a leaf)."""
        return self._rule.name if self._rule is not None else ""

    @property
    def args(self) -> tuple:
        """Constant parameters of the op, such as the number exponent of ``powc``."""
        return self._args

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- operators ---------------------------------------------------------------
    def __add__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["add"], (self, other))

    def __radd__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["add"], (other, self))

    def __sub__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["sub"], (self, other))

    def __rsub__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["sub"], (other, self))

    def __mul__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["mul"], (self, other))

    def __rmul__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["mul"], (other, self))

    def __truediv__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["div"], (self, other))

    def __rtruediv__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["div"], (other, self))

    def __pow__(self, other):
        if isinstance(other, Value):
            return _make(_R["pow"], (self, other))
        if isinstance(other, Real):
            return _make(_R["powc"], (self,), (other,))
        return NotImplemented

    def __rpow__(self, other):
        other = _coerce(other)
        return NotImplemented if other is None else _make(_R["pow"], (other, self))

    def __neg__(self):
        return _make(_R["neg"], (self,))

    def __pos__(self):
        return self

    def __abs__(self):
        return _make(_R["abs"], (self,))

    # -- functions ---------------------------------------------------------------
    def neg(self) -> Value:
        return _make(_R["neg"], (self,))

    def exp(self) -> Value:
        return _make(_R["exp"], (self,))

    def log(self) -> Value:
        return _make(_R["log"], (self,))

    def tanh(self) -> Value:
        return _make(_R["tanh"], (self,))

    def sigmoid(self) -> Value:
        return _make(_R["sigmoid"], (self,))

    def relu(self) -> Value:
        return _make(_R["relu"], (self,))

    def sin(self) -> Value:
        return _make(_R["sin"], (self,))

    def cos(self) -> Value:
        return _make(_R["cos"], (self,))

    def sqrt(self) -> Value:
        return _make(_R["sqrt"], (self,))

    def abs(self) -> Value:
        return _make(_R["abs"], (self,))

    # -- reverse mode ------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``.grad`` of every node in this graph with d(self)/d(node)."""
        for node, g in _backpropagate(self, float(gradient), FLOAT).items():
            if node._rule is None:
                node.grad += g
            else:
                node.grad = g


def _coerce(x) -> Value | None:
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):
        return Value(x)
    return None


def _make(rule: Rule, inputs: tuple[Value, ...], args: tuple = _NO_ARGS) -> Value:
    """A new node: the rule's forward on the inputs' data."""
    out = Value.__new__(Value)
    out.data = float(rule.forward(FLOAT, *[v.data for v in inputs], *args))
    out.grad = 0.0
    out._prev = inputs
    out._rule = rule
    out._args = args
    out.label = ""
    return out


def _topological(root: Value) -> list[Value]:
    """Every node reachable from root, each after all of its inputs (no recursion)."""
    order: list[Value] = []
    seen: set[Value] = set()
    stack = [(root, False)]
    push, pop, append, mark = stack.append, stack.pop, order.append, seen.add
    while stack:
        node, expanded = pop()
        if expanded:
            append(node)
        elif node not in seen:
            mark(node)
            push((node, True))
            for child in node._prev:
                if child not in seen:
                    push((child, False))
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
        inputs = node._prev
        if on_values:
            z, args = node, inputs + node._args
        else:
            z, args = node.data, tuple([v.data for v in inputs]) + node._args
        for child, partial in zip(inputs, rule.partials):
            contribution = g * partial(m, z, *args)
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

