"""A case as SymPy sees it, with exact constants: the builder and the derivation (balls.py evaluates them).


- ``ExactBuilder``: runs a case function on SymPy symbols through a proxy whose operators take
  Python floats exactly (``sympy.Rational`` of the binary value, never a 53-bit ``Float``) and
  whose constant results that SymPy cannot represent as a finite real (``1/0 = zoo``,
  ``log(-1) = I*pi``, ``cos(oo)``, a float that is already ``inf``) become placeholder symbols
  carrying their IEEE value.
- ``Program``: SymPy expressions compiled once into a straight-line program (shared
  subexpressions computed once) and evaluated with mpmath at any precision on balls: a midpoint
  and a rigorous bound of its error, with IEEE-style results at poles and outside domains
  (``1/0 = inf``, ``log(-1) = nan``, ``Heaviside(nan) = nan``).
- ``settle``: evaluation at rising precision (128 to 4096 bits) until every component's ball
  lies between two rounding boundaries, so its double is certain; past the cap, an honest
  ``NoOracle``. (Equal results at two precisions would prove nothing: tanh(100) is exactly 1
  at both 128 and 256 bits, yet 1 - tanh(100)**2 = 5.5e-87.)
"""
from __future__ import annotations

import math
import numbers
import threading
import weakref
from collections.abc import Sequence

import mpmath
import sympy

from reference.core.errors import NoOracle
from reference.oracle.balls import Program, exact_ball, settle, to_double
from reference.oracle.definitions import SYMPY_NS, _namespace_rules, exact_number, op_definition

__all__ = ["DERIVATIONS", "Derivation", "Exact", "ExactBuilder", "unpack"]



# -- building a case's expression with exact constants ---------------------------------------------
_BAD = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)


class ExactBuilder:
    """Builds SymPy expressions from a case function with exact constants and placeholders."""

    def __init__(self) -> None:
        self.placeholders: list[tuple[sympy.Symbol, float]] = []
        self.namespace = _ExactMath(self)

    def placeholder(self, value: float) -> sympy.Symbol:
        """A fresh symbol standing for a non-finite constant (IEEE inf or nan)."""
        symbol = sympy.Symbol(f"_k{len(self.placeholders)}", infinite=True) if math.isinf(value) \
            else sympy.Symbol(f"_k{len(self.placeholders)}")
        self.placeholders.append((symbol, value))
        return symbol

    def lift(self, x) -> sympy.Expr | None:
        """An operand as a SymPy expression (None if it is not a number or an Exact)."""
        if isinstance(x, Exact):
            return x.expr
        if isinstance(x, sympy.Expr):
            return x
        if isinstance(x, numbers.Real):
            if isinstance(x, float) or not isinstance(x, numbers.Integral):
                if not math.isfinite(float(x)):
                    return self.placeholder(float(x))
            return exact_number(x)
        return None

    def apply(self, name: str, *args, params: tuple = ()) -> sympy.Expr:
        """The op ``name`` on SymPy operands; a constant SymPy cannot keep real becomes a placeholder."""
        if name == "div" and _is_constant(args[1]):
            # x / c as x * (1/c): the same number in IEEE arithmetic, even for c = 0 or inf,
            # and it keeps SymPy's zoo out of the expression.
            return self.apply("mul", args[0], self.apply("powc", args[1], params=(-1,)))
        exact_params = tuple(exact_number(p) for p in params)
        result = sympy.sympify(op_definition(name)(SYMPY_NS, *args, *exact_params))
        if _is_constant(result) and not (result.is_extended_real and result.is_finite):
            return self._ieee_constant(name, args, exact_params, result)
        return result

    def _ieee_constant(self, name, args, params, result) -> sympy.Expr:
        known = [s for s, _ in self.placeholders]
        if any(a.free_symbols - set(known) for a in args):
            # SymPy folded an expression of the variables to a constant (0 * (x + inf) = nan).
            if result is sympy.nan or result is sympy.zoo:
                return self.placeholder(math.nan)
            raise NoOracle(f"SymPy folds {name} of an expression to {result}")
        symbols = sympy.symbols(f"_a0:{len(args)}", real=True)
        program = Program([sympy.sympify(op_definition(name)(SYMPY_NS, *symbols, *params))], list(symbols))
        operands = Program(list(args), known)
        with mpmath.workprec(256):
            (ball,) = program.run(operands.run([exact_ball(v) for _, v in self.placeholders]))
        value = to_double(ball[0])
        if math.isfinite(value):
            # SymPy could not decide that the constant is real and finite (tan(sin(1/2))), but it is:
            # keep it exact; the evaluation bounds it like any other number.
            return result
        return self.placeholder(value)


def _is_constant(e: sympy.Expr) -> bool:
    return not e.free_symbols


class Exact:
    """A SymPy expression whose operators take Python numbers exactly (through its builder)."""

    __slots__ = ("builder", "expr")

    def __init__(self, expr: sympy.Expr, builder: ExactBuilder) -> None:
        self.expr = expr
        self.builder = builder

    def _op(self, name, other, reflected=False):
        o = self.builder.lift(other)
        if o is None:
            return NotImplemented
        a, b = (o, self.expr) if reflected else (self.expr, o)
        return Exact(self.builder.apply(name, a, b), self.builder)

    def __add__(self, o):
        return self._op("add", o)

    def __radd__(self, o):
        return self._op("add", o, True)

    def __sub__(self, o):
        return self._op("sub", o)

    def __rsub__(self, o):
        return self._op("sub", o, True)

    def __mul__(self, o):
        return self._op("mul", o)

    def __rmul__(self, o):
        return self._op("mul", o, True)

    def __truediv__(self, o):
        return self._op("div", o)

    def __rtruediv__(self, o):
        return self._op("div", o, True)

    def __pow__(self, o):
        return self._op("pow", o)

    def __rpow__(self, o):
        return self._op("pow", o, True)

    def __neg__(self):
        return Exact(self.builder.apply("neg", self.expr), self.builder)

    def __pos__(self):
        return self

    def __abs__(self):
        return Exact(self.builder.apply("abs", self.expr), self.builder)

    def __repr__(self) -> str:
        return f"Exact({self.expr})"


class _ExactMath:
    """The math namespace ``m`` of the proxy: every registry op by name, on Exacts or numbers."""

    def __init__(self, builder: ExactBuilder) -> None:
        self._builder = builder
        self._rules = _namespace_rules()

    def __getattr__(self, name):
        rule = self._rules.get(name) if not name.startswith("_") else None
        if rule is None:
            raise AttributeError(name)
        builder, arity = self._builder, rule.arity
        defaults = dict(zip(rule.params[len(rule.params) - len(rule.defaults):], rule.defaults))

        def function(*args, **kwargs):
            inputs = [builder.lift(a) for a in args[:arity]]
            if len(inputs) < arity or any(i is None for i in inputs):
                raise TypeError(f"{name}() takes {arity} number(s)")
            given = dict(zip(rule.params, args[arity:]), **kwargs)
            params = tuple(given[p] if p in given else defaults[p] for p in rule.params)
            return Exact(builder.apply(rule.name, *inputs, params=params), builder)
        return function


# -- a case as SymPy sees it ------------------------------------------------------------------------
class Derivation:
    """A case's expression with exact constants, its exact partials and (lazily) its Hessian."""

    def __init__(self, case) -> None:
        self.variables = tuple(case.variables)
        self.symbols = [sympy.Symbol(f"_v{i}", real=True) for i in range(len(self.variables))]
        builder = ExactBuilder()
        try:
            out = case.fn(builder.namespace, *[Exact(s, builder) for s in self.symbols])
        except NoOracle:
            raise
        except Exception as err:  # the case's function is a user's code, run on SymPy symbols: any raise
            raise NoOracle(f"SymPy cannot build the expression: {type(err).__name__}: {err}") from None
        expr = builder.lift(out)
        if expr is None:
            raise NoOracle(f"the case returned {type(out).__name__}, not a number")
        self.expr = expr
        self._case = weakref.ref(case)
        self.placeholders = builder.placeholders
        self.partials = [sympy.diff(expr, s) for s in self.symbols]
        self._hessian: list[list[sympy.Expr]] | None = None
        self._programs: dict[int, Program] = {}

    @property
    def arguments(self) -> list[sympy.Symbol]:
        """The symbols a compiled function takes: the variables, then the placeholders."""
        return self.symbols + [s for s, _ in self.placeholders]

    def hessian(self) -> list[list[sympy.Expr]]:
        """H[i][j] = d/dx_j of df/dx_i, computed once per pair (the two orders are equal symbolically)."""
        if self._hessian is None:
            n = len(self.symbols)
            h = [[sympy.S.Zero] * n for _ in range(n)]
            for i in range(n):
                for j in range(i, n):
                    h[i][j] = h[j][i] = sympy.diff(self.partials[i], self.symbols[j])
            self._hessian = h
        return self._hessian

    def outputs(self, order: int) -> list[sympy.Expr]:
        """Value, partials and (order 2) the Hessian's upper triangle row by row."""
        out = [self.expr, *self.partials]
        if order >= 2:
            h = self.hessian()
            out += [h[i][j] for i in range(len(h)) for j in range(i, len(h))]
        return out

    def program(self, order: int) -> Program:
        if order not in self._programs:
            self._programs[order] = Program(self.outputs(order), self.arguments)
        return self._programs[order]

    def exact(self, point: Sequence[float], order: int = 1, check=None) -> tuple:
        """(value, grad, hessian or None) as correctly rounded doubles; NoOracle if uncertain."""
        program = self.program(order)
        values = [float(x) for x in point] + [v for _, v in self.placeholders]

        def compute():
            return program.run([exact_ball(x) for x in values])

        doubles, bits = settle(compute, check=check)
        names = ["value", *self.variables]
        if order >= 2:
            n = len(self.variables)
            names += [f"d2/d{self.variables[i]}d{self.variables[j]}" for i in range(n) for j in range(i, n)]
        missing = [names[i] for i, d in enumerate(doubles) if d is None]
        if missing:
            raise NoOracle(f"the rounding of {', '.join(missing[:3])} is not certain at {bits} bits")
        return unpack(doubles, len(self.variables), order)


def unpack(doubles: list[float], n: int, order: int) -> tuple:
    """(value, grad, hessian or None) from value, partials and the Hessian's upper triangle."""
    value, grad = doubles[0], tuple(doubles[1:1 + n])
    if order < 2:
        return value, grad, None
    h = [[0.0] * n for _ in range(n)]
    k = 1 + n
    for i in range(n):
        for j in range(i, n):
            h[i][j] = h[j][i] = doubles[k]
            k += 1
    return value, grad, tuple(tuple(row) for row in h)


class _Cache:
    """One Derivation per case function, shared by the sympy backend and the on-the-fly oracle.

    Keyed weakly by the function object itself: two cases with the same name but
    different functions never share a derivation, and a dropped function frees its own.
    """

    def __init__(self) -> None:
        self._items: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, case) -> Derivation:
        """The case's derivation, built on first use (NoOracle if SymPy cannot build it)."""
        with self._lock:
            item = self._items.get(case.fn)
        if item is None or item.variables != tuple(case.variables):
            item = Derivation(case)
            with self._lock:
                self._items[case.fn] = item
        return item


DERIVATIONS = _Cache()
