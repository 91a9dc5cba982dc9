"""SymPy as a backend: its exact derivative run as float64 code (lambdify), and the oracle.

The ``sympy`` backend is what a user of SymPy gets: ``sympy.diff`` of the case's expression
(float constants taken exactly, see ``reference.exact``), turned into Python code by
``lambdify(..., cse=True)`` over the ``math`` module with IEEE wrappers (``1/0 = inf``,
``log(-1) = nan``), so it gives the same bits on any x86-64 CPU (no numpy vector paths).

The ``oracle`` backend is the exact answer (``reference.oracle``): stored for the corpus,
derived on the fly for anything else.
"""
from __future__ import annotations

import math

import sympy
from sympy.printing.pycode import PythonCodePrinter

from ..exact import DERIVATIONS, Derivation, NoOracle, relu
from autodiff.rules import HELPERS, RULES

from .base import Backend

__all__ = ["DERIVATIONS", "IEEE_MATH", "OracleBackend", "SympyBackend", "float_function", "relu"]


# -- float64 code with IEEE semantics ------------------------------------------------------------
def _q(p: int, q: int) -> float:
    try:
        return p / q  # correctly rounded
    except OverflowError:
        return math.copysign(math.inf, p) * math.copysign(1.0, q)


def _heaviside(x: float, h0: float = 0.5) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else (x if x != x else h0)


def _dirac(x: float, k: int = 0) -> float:
    return 0.0 if (x == x and x != 0) else math.nan


def _max(*xs: float) -> float:
    return math.nan if any(x != x for x in xs) else max(xs)


def _min(*xs: float) -> float:
    return math.nan if any(x != x for x in xs) else min(xs)


_F = {name: rule.float for name, rule in RULES.items()}  # the registry's IEEE float functions
IEEE_MATH = {
    "_q": _q, "_pow": _F["pow"], "_exp": _F["exp"], "_log": _F["log"], "_sin": _F["sin"], "_cos": _F["cos"],
    "_tan": _F["tan"], "_tanh": _F["tanh"], "_atan": _F["atan"], "_sinh": _F["sinh"],
    "_cosh": _F["cosh"], "_abs": _F["abs"], "_sign": HELPERS["sign"], "_heaviside": _heaviside,
    "_dirac": _dirac,
    "_relu": _F["relu"], "_max": _max, "_min": _min, "_pi": math.pi, "_e": math.e, "_inf": math.inf, "_nan": math.nan,
}  # the namespace of the generated code: the math module behind IEEE wrappers


class _IEEEPrinter(PythonCodePrinter):
    """Python code over ``IEEE_MATH``: every power, function and big constant through a wrapper."""

    def _print_Pow(self, expr, rational=False):
        return f"_pow({self._print(expr.base)}, {self._print(expr.exp)})"

    def _print_Mul(self, expr):
        return "*".join(f"({self._print(a)})" if a.is_Add else self._print(a) for a in expr.args)

    def _print_Rational(self, expr):
        return f"_q({expr.p}, {expr.q})"

    def _print_Half(self, expr):
        return "0.5"

    def _print_Integer(self, expr):
        return f"_q({expr.p}, 1)" if abs(expr.p) > 2 ** 53 else f"{int(expr.p)}.0"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _call(self, name, expr):
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Heaviside(self, expr):
        return self._call("_heaviside", expr)

    def _print_Function(self, expr):
        name = _CALLS.get(type(expr).__name__)
        if name is None:
            raise NoOracle(f"no IEEE float code for {type(expr).__name__}")
        return self._call(name, expr)

    def _print_Pi(self, expr):
        return "_pi"

    def _print_Exp1(self, expr):
        return "_e"

    def _print_Infinity(self, expr):
        return "_inf"

    def _print_NegativeInfinity(self, expr):
        return "(-_inf)"

    def _print_NaN(self, expr):
        return "_nan"

    _print_ComplexInfinity = _print_ImaginaryUnit = _print_NaN


_CALLS = {"exp": "_exp", "log": "_log", "sin": "_sin", "cos": "_cos", "tan": "_tan", "tanh": "_tanh",
          "atan": "_atan", "sinh": "_sinh", "cosh": "_cosh", "Abs": "_abs", "sign": "_sign", "DiracDelta": "_dirac",
          "relu": "_relu", "Max": "_max", "Min": "_min"}
for _name in _CALLS:
    setattr(_IEEEPrinter, f"_print_{_name}", _IEEEPrinter._print_Function)


def float_function(derivation: Derivation, order: int = 1):
    """float64 code for [value, *partials (, Hessian upper triangle)] of a derivation."""
    return sympy.lambdify(derivation.arguments, derivation.outputs(order), modules=[IEEE_MATH],
                          printer=_IEEEPrinter({"fully_qualified_modules": False, "inline": True,
                                                "allow_unknown_functions": True}), cse=True)


def _float_fn(case, order: int = 1):
    """The lambdified float64 code of a case (cached on its derivation)."""
    derivation = DERIVATIONS.get(case)
    cache = derivation.__dict__.setdefault("_float_fns", {})
    if order not in cache:
        cache[order] = float_function(derivation, order)
    return cache[order]



def sympy_float(case, point, order: int = 1) -> list[float]:
    """SymPy's float64 code at ``point``: [value, *partials (, Hessian upper triangle)]."""
    derivation = DERIVATIONS.get(case)
    args = [float(x) for x in point] + [v for _, v in derivation.placeholders]
    return [float(v) for v in _float_fn(case, order)(*args)]


class SympyBackend(Backend):
    name = "sympy"
    method = "symbolic (sympy.diff, exact constants), evaluated in float64 by lambdify(cse=True) over math"
    rtol = 1e-10

    def _compute(self, case, point):
        from ..oracle import stored_sympy_float
        stored = stored_sympy_float(case, point)
        values = stored if stored is not None else sympy_float(case, point)
        return values[0], values[1:1 + len(case.variables)], None


class OracleBackend(Backend):
    name = "oracle"
    method = ("exact (sympy.diff of the case with float constants taken exactly, or the exact chain rule for "
              "large graphs), evaluated with mpmath at rising precision until the rounding is certain")
    rtol = 0.0

    def _compute(self, case, point):
        from ..oracle import oracle_at
        value, grad, _ = oracle_at(case, point)
        return value, grad, None
