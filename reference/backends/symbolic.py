"""SymPy: exact derivatives, evaluated at 50 digits (the oracle) or as float64 code (lambdify)."""
from __future__ import annotations

import math
import threading
import weakref

import mpmath
import numpy as np
import sympy
from sympy.core.evalf import PrecisionExhausted

from .base import Backend

DIGITS = 50

class relu(sympy.Function):
    """max(0, x) as one SymPy function: its derivative is Heaviside(x) (so relu'(0) = 1/2 in SymPy).

    A function of its own rather than Max(0, x) keeps large networks' expressions small:
    SymPy's Max sorts and compares its arguments, which is slow on big expressions.
    """

    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_number:
            return sympy.Max(0, x)
        return None

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)


def _np_relu(x):
    return np.maximum(x, 0.0) if x == x else x


def _mp_relu(x):
    return x if x > 0 else (x if x != x else mpmath.mpf(0))


SYMPY = type("SympyMath", (), {
    "exp": staticmethod(sympy.exp),
    "log": staticmethod(sympy.log),
    "tanh": staticmethod(sympy.tanh),
    "sigmoid": staticmethod(lambda x: 1 / (1 + sympy.exp(-x))),
    "relu": staticmethod(relu),
    "sin": staticmethod(sympy.sin),
    "cos": staticmethod(sympy.cos),
    "sqrt": staticmethod(sympy.sqrt),
    "abs": staticmethod(sympy.Abs),
})


class Derivation:
    """A case as SymPy sees it: symbols, the expression, and its exact partials."""

    def __init__(self, case) -> None:
        self.variables = case.variables
        self.symbols = [sympy.Symbol(n, real=True) for n in case.variables]
        expr = case.fn(SYMPY, *self.symbols)
        self.expr = expr if isinstance(expr, sympy.Basic) else sympy.Float(float(expr))
        self.partials = [sympy.diff(self.expr, s) for s in self.symbols]
        self._float_fn = None
        self._mp_fn = None
        self._at_kinks: dict[tuple, Derivation] = {}

    def float_fn(self):
        """float64 code for (value, *partials), as a user of SymPy would run it."""
        if self._float_fn is None:
            self._float_fn = sympy.lambdify(self.symbols, [self.expr, *self.partials],
                                            modules=[{"relu": _np_relu}, "numpy"])
        return self._float_fn

    def with_kink_values(self, heaviside0: float, sign0: float) -> Derivation:
        """The same derivation with Heaviside(0) and sign(0) taken as the given values.

        This is how a backend's convention at relu and abs kinks carries through the
        chain rule of a composite expression.
        """
        key = (heaviside0, sign0)
        if key not in self._at_kinks:
            h0, half = sympy.nsimplify(heaviside0), sympy.nsimplify((1 + sign0) / 2)
            other = object.__new__(Derivation)
            other.variables, other.symbols, other.expr = self.variables, self.symbols, self.expr
            other.partials = [p.replace(sympy.Heaviside, lambda a, *_: sympy.Heaviside(a, h0))
                              .replace(sympy.sign, lambda a: 2 * sympy.Heaviside(a, half) - 1) for p in self.partials]
            other._float_fn = other._mp_fn = None
            other._at_kinks = {}
            self._at_kinks[key] = other
        return self._at_kinks[key]

    def exact(self, point) -> list[float]:
        """Value and partials at ``point``, computed with 50 digits and rounded to doubles."""
        if self._mp_fn is None:
            self._mp_fn = sympy.lambdify(self.symbols, [self.expr, *self.partials],
                                         modules=[{"relu": _mp_relu}, "mpmath"])
        try:
            with mpmath.workdps(DIGITS):
                return [to_double(v) for v in self._mp_fn(*[mpmath.mpf(x) for x in point])]
        except (ZeroDivisionError, ValueError, OverflowError):
            # mpmath raises at poles where SymPy's own arithmetic answers zoo/oo/nan.
            subs = {s: sympy.Rational(x) if math.isfinite(x) else sympy.Float(x) for s, x in zip(self.symbols, point)}
            return [_exact_value(e, subs) for e in (self.expr, *self.partials)]


def _exact_value(expr, subs) -> float:
    try:
        return to_double(expr.evalf(DIGITS, subs=subs, strict=True))
    except PrecisionExhausted:
        # evalf cannot tell the value from 0 (exact cancellation, e.g. at a minimum):
        # substitute the exact rationals and let SymPy's exact arithmetic decide.
        return to_double(expr.xreplace(subs).evalf(DIGITS))


def to_double(x) -> float:
    """A SymPy or mpmath number as a double; non-real or undefined values are nan."""
    if isinstance(x, (int, float, mpmath.mpf)):
        return float(x)
    if isinstance(x, mpmath.mpc):
        return float(x.real) if x.imag == 0 else math.nan
    if x is sympy.zoo or x is sympy.nan:
        return math.nan
    if x is sympy.oo:
        return math.inf
    if x is sympy.S.NegativeInfinity:
        return -math.inf
    try:
        c = complex(x)
    except TypeError:
        return math.nan
    if c.imag != 0:
        return math.nan
    return c.real


class _Cache:
    """One Derivation per case function, shared by the sympy backend and the oracle.

    Keyed weakly by the function object itself: two cases with the same name but
    different functions never share a derivation, and a dropped function frees its own.
    """

    def __init__(self) -> None:
        self._items: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, case) -> Derivation:
        with self._lock:
            item = self._items.get(case.fn)
        if item is None or item.variables != case.variables:
            item = Derivation(case)
            with self._lock:
                self._items[case.fn] = item
        return item


DERIVATIONS = _Cache()


class SympyBackend(Backend):
    name = "sympy"
    method = "symbolic (sympy.diff), evaluated in float64 by lambdify"
    rtol = 1e-10

    def _compute(self, case, point):
        with np.errstate(all="ignore"):
            values = DERIVATIONS.get(case).float_fn()(*[np.float64(x) for x in point])
        return float(values[0]), [float(v) for v in values[1:]], None


class OracleBackend(Backend):
    name = "oracle"
    method = f"symbolic (sympy.diff), evaluated at {DIGITS} digits with mpmath"
    rtol = 0.0

    def _compute(self, case, point):
        value, *grad = DERIVATIONS.get(case).exact(point)
        return value, grad, None
