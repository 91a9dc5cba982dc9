"""Scalar: a float that remembers how it was made, so that ``backward()`` can fill ``.derivative``."""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .autodiff import Context, backpropagate
from .scalar_functions import EQ, LT, Add, Exp, Inv, Log, Mul, Neg, ReLU, ScalarFunction, Sigmoid

_var_count = 0


@dataclass
class ScalarHistory:
    """The function that made a Scalar, its context and its inputs (all None/empty on a leaf)."""

    last_fn: type[ScalarFunction] | None = None
    ctx: Context | None = None
    inputs: tuple["Scalar", ...] = ()


_LEAF = ScalarHistory()  # the history of every leaf: no function, no inputs


class Scalar:
    """A number in the graph. ``history`` is None for a constant, an empty ScalarHistory for a leaf;
    ``derivative`` stays None until backward() reaches the leaf."""

    def __init__(self, v: float, back: ScalarHistory | None = _LEAF, name: str | None = None):
        global _var_count
        _var_count += 1
        self.unique_id = _var_count
        self.data = float(v)
        self.history = back
        self.derivative: float | None = None
        self.name = name if name is not None else str(self.unique_id)

    def __repr__(self) -> str:
        return f"Scalar({self.data})"

    # arithmetic (there is no __rsub__: `2 - x` is a TypeError, as in the course's template)
    def __add__(self, b: Any) -> "Scalar":
        return Add.apply(self, b)

    def __radd__(self, b: Any) -> "Scalar":
        return Add.apply(b, self)

    def __mul__(self, b: Any) -> "Scalar":
        return Mul.apply(self, b)

    def __rmul__(self, b: Any) -> "Scalar":
        return Mul.apply(b, self)

    def __truediv__(self, b: Any) -> "Scalar":
        return Mul.apply(self, Inv.apply(b))

    def __rtruediv__(self, b: Any) -> "Scalar":
        return Mul.apply(b, Inv.apply(self))

    def __neg__(self) -> "Scalar":
        return Neg.apply(self)

    def __sub__(self, b: Any) -> "Scalar":
        return self + (-b)

    def __lt__(self, b: Any) -> "Scalar":
        return LT.apply(self, b)

    def __gt__(self, b: Any) -> "Scalar":
        return LT.apply(b, self)

    def __eq__(self, b: Any) -> "Scalar":  # type: ignore[override]
        return EQ.apply(self, b)

    def __bool__(self) -> bool:
        return bool(self.data)

    # functions
    def log(self) -> "Scalar":
        return Log.apply(self)

    def exp(self) -> "Scalar":
        return Exp.apply(self)

    def sigmoid(self) -> "Scalar":
        return Sigmoid.apply(self)

    def relu(self) -> "Scalar":
        return ReLU.apply(self)

    # the Variable protocol (autodiff.py)
    def accumulate_derivative(self, x: Any) -> None:
        assert self.is_leaf(), "Only leaf variables can have derivatives."
        if self.derivative is None:
            self.derivative = 0.0
        self.derivative += x

    def is_leaf(self) -> bool:
        return self.history is not None and self.history.last_fn is None

    def is_constant(self) -> bool:
        return self.history is None

    @property
    def parents(self) -> Iterable["Scalar"]:
        assert self.history is not None
        return self.history.inputs

    def chain_rule(self, d_output: Any) -> Iterable[tuple["Scalar", Any]]:
        h = self.history
        assert h is not None and h.last_fn is not None and h.ctx is not None
        grads = h.last_fn._backward(h.ctx, d_output)
        return list(zip(h.inputs, grads))

    def backward(self, d_output: float | None = None) -> None:
        """Fill ``.derivative`` on every leaf this Scalar depends on (d_output defaults to 1.0)."""
        if d_output is None:
            d_output = 1.0
        backpropagate(self, d_output)
