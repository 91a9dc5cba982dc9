"""Every primitive op as data: its forward and one local partial per input.

A rule is written against a math namespace ``m`` so that the same text runs on
floats (the engine's backward pass), on Values (``create_graph=True``) and on
SymPy symbols (the study proves each partial against ``sympy.diff``).

A partial is a number (a constant slope) or a function of ``(m, z, *args)``: ``z`` is the op's own output (like
torch's ``result`` or JAX's ``ans``) and ``args`` are the inputs followed by
any constant parameters (the number exponent of ``powc``). Partials state only
the local derivative; the chain rule lives once, in ``engine.py``.

``m.mul0(a, b)`` is ``a * b`` with a zero ``a`` winning over an infinite ``b``:
the one convention the pow partials need at x = 0 (a constant factor stays 0).

Operations that can fail on floats (division, powers, logs, ...) go through
``m`` so that the float namespace can give IEEE results (``1/0 = inf``,
``log(-1) = nan``) where Python would raise.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FLOAT", "RULES", "FloatMath", "Rule"]


@dataclass(frozen=True)
class Rule:
    """One primitive: ``forward(m, *args)`` and ``partials[i](m, z, *args)``."""

    name: str
    forward: Callable
    partials: tuple[Callable | float, ...]
    symbol: str = ""  # how the op is written in a graph picture
    note: str = ""  # the convention chosen at a kink or edge, if any

    @property
    def arity(self) -> int:
        """Number of differentiable inputs."""
        return len(self.partials)

    def partial(self, i: int, m, z, *args):
        """The i-th local partial evaluated in namespace ``m``."""
        p = self.partials[i]
        return p if isinstance(p, float) else p(m, z, *args)


# fmt: off
_TABLE = (
    Rule("add",  lambda m, x, y: x + y,         (1.0,                              1.0), "+"),
    Rule("sub",  lambda m, x, y: x - y,         (1.0,                              -1.0), "-"),
    Rule("mul",  lambda m, x, y: x * y,         (lambda m, z, x, y: y,             lambda m, z, x, y: x), "*"),
    Rule("div",  lambda m, x, y: m.div(x, y),   (lambda m, z, x, y: m.div(1.0, y), lambda m, z, x, y: m.div(-z, y)), "/",
         "d/dy uses -z/y (torch: (x/y)/y) rather than -x/y**2, whose y**2 overflows for |y| > 1e154"),
    Rule("neg",  lambda m, x: -x,               (-1.0,), "neg"),
    Rule("powc", lambda m, x, c: m.pow(x, c),   (lambda m, z, x, c: m.mul0(c, m.pow(x, c - 1)),), "**c",
         "d/dx x**0 = 0 also at x = 0, as torch"),
    Rule("pow",  lambda m, x, y: m.pow(x, y),   (lambda m, z, x, y: m.mul0(y, m.pow(x, y - 1)),
                                                 lambda m, z, x, y: m.mul0(z, m.log(x))), "**",
         "d/dy at x = 0 is 0 for y > 0 (0**y is flat in y), as torch; at x = 0, y = 0 it is -inf"),
    Rule("exp",  lambda m, x: m.exp(x),         (lambda m, z, x: z,), "exp"),
    Rule("log",  lambda m, x: m.log(x),         (lambda m, z, x: m.div(1.0, x),), "log"),
    Rule("tanh", lambda m, x: m.tanh(x),        (lambda m, z, x: 1.0 - z * z,), "tanh",
         "1 - z**2 as torch and JAX; it cancels to 0 for |x| > 19"),
    Rule("sigmoid", lambda m, x: m.sigmoid(x),  (lambda m, z, x: z * (1.0 - z),), "sigmoid",
         "z * (1 - z) as torch; it cancels to 0 for x > 37"),
    Rule("relu", lambda m, x: m.relu(x),        (lambda m, z, x: m.step(x),), "relu",
         "relu'(0) = 0, as torch"),
    Rule("sin",  lambda m, x: m.sin(x),         (lambda m, z, x: m.cos(x),), "sin"),
    Rule("cos",  lambda m, x: m.cos(x),         (lambda m, z, x: -m.sin(x),), "cos"),
    Rule("sqrt", lambda m, x: m.sqrt(x),        (lambda m, z, x: m.div(0.5, z),), "sqrt"),
    Rule("abs",  lambda m, x: m.abs(x),         (lambda m, z, x: m.sign(x),), "abs",
         "abs'(0) = sign(0) = 0, as torch"),
)
# fmt: on
RULES: dict[str, Rule] = {rule.name: rule for rule in _TABLE}


class FloatMath:
    """The float namespace: IEEE double results where Python's math would raise."""

    inf = math.inf
    nan = math.nan

    @staticmethod
    def div(x: float, y: float) -> float:
        try:
            return x / y
        except ZeroDivisionError:
            if x != x or x == 0:
                return math.nan
            # The sign of inf follows both signs, including that of a signed zero.
            return math.copysign(math.inf, x) * math.copysign(1.0, y)

    @staticmethod
    def pow(x: float, y: float) -> float:
        try:
            return math.pow(x, y)
        except OverflowError:
            negative = x < 0 and float(y).is_integer() and int(y) % 2 == 1
            return -math.inf if negative else math.inf
        except ValueError:
            if x == 0 and y < 0:  # pole: +inf, or -inf for -0.0 to an odd power
                odd = float(y).is_integer() and int(y) % 2 == 1
                return math.copysign(math.inf, x) if odd else math.inf
            return math.nan  # negative base with a non-integer exponent

    @staticmethod
    def exp(x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def log(x: float) -> float:
        if x > 0:
            return math.log(x)
        if x == 0:
            return -math.inf
        return math.nan

    @staticmethod
    def mul0(x: float, y: float) -> float:
        """x * y, but 0 wherever x is 0, even for y = inf or nan (torch's masks in pow's partials)."""
        return 0.0 if x == 0 else x * y

    @staticmethod
    def sqrt(x: float) -> float:
        return math.sqrt(x) if x >= 0 else math.nan

    @staticmethod
    def tanh(x: float) -> float:
        return math.tanh(x)

    @staticmethod
    def sigmoid(x: float) -> float:
        # Two branches so that exp never overflows.
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0 else (x if x != x else 0.0)

    @staticmethod
    def step(x: float) -> float:
        return 1.0 if x > 0 else (x if x != x else 0.0)

    @staticmethod
    def sign(x: float) -> float:
        return 1.0 if x > 0 else -1.0 if x < 0 else (x if x != x else 0.0)

    @staticmethod
    def sin(x: float) -> float:
        return math.sin(x) if math.isfinite(x) else math.nan

    @staticmethod
    def cos(x: float) -> float:
        return math.cos(x) if math.isfinite(x) else math.nan

    @staticmethod
    def abs(x: float) -> float:
        return math.fabs(x)


FLOAT = FloatMath()
