"""Finite differences: forward, central, five-point, Richardson (Ridders) and complex step.

Steps follow the theory for each order: with machine epsilon e, a scheme whose truncation
error is O(h**p) balances it against the round-off e/h at h ~ e**(1/(p+1)); every step is
scaled by max(1, |x|) so that x + h differs from x in the same relative digit.
"""
from __future__ import annotations

import math
import sys
from functools import cache

from autodiff import Value, grad
from autodiff.engine import VALUE_MATH
from autodiff.rules import FLOAT, OPERATOR_METHODS, RULES
from reference.backends.base import Backend, namespace
from reference.core.errors import Unsupported

EPS = sys.float_info.epsilon
HESSIAN_STEP = EPS ** (1 / 3)  # central differences of a gradient: O(h**2) truncation against eps/h round-off


class IEEE(float):
    """A float whose operators follow the registry's float rules (1/0 = inf, (-1)**0.5 = nan), never raising.

    Plain Python floats and the ``math`` module: the same bits on every CPU, unlike numpy's
    vectorised loops, which round transcendental functions differently with and without AVX-512.
    """

    __slots__ = ()


def _operator(rule, reflected: bool = False):
    fn = rule.float
    if reflected:
        return lambda self, other: IEEE(fn(float(other), float(self)))
    return lambda self, other: IEEE(fn(float(self), float(other)))


for _rule in RULES.values():
    if _rule.spelling.operator == "neg":
        IEEE.__neg__ = lambda self, _f=_rule.float: IEEE(_f(float(self)))
    elif _rule.spelling.operator and not _rule.params:
        _method, _reflected = OPERATOR_METHODS[_rule.spelling.operator]
        setattr(IEEE, _method, _operator(_rule))
        setattr(IEEE, _reflected, _operator(_rule, reflected=True))
IEEE.__pos__ = lambda self: self


def _real_op(rule):
    return lambda *args: IEEE(rule.float(*[float(a) for a in args]))


@cache
def _complex_op(name: str):
    """The op on complex numbers: its SymPy definition compiled for ``cmath``, and for what cmath lacks (erf)
    mpmath's complex function, whose answer is taken back to a Python complex (analytic ops only)."""
    import sympy
    rule = RULES[name]
    symbols = sympy.symbols(f"a0:{rule.arity + len(rule.params)}")
    fn = sympy.lambdify(symbols, rule.systems.sympy(sympy, *symbols), modules=["cmath", "mpmath"])
    return lambda *args: complex(fn(*args))


REAL = namespace(_real_op, "float")
# relu, abs and other kinks are not analytic: the complex step has no meaning for them.
COMPLEX = namespace(lambda rule: (lambda *a, _n=rule.name: _complex_op(_n)(*a)) if rule.analytic else None,
                    "complex step")


class FiniteDifference(Backend):
    """A scheme over one variable at a time; subclasses give ``derivative``."""

    order = 1
    error_floor = 1.0
    fixed_step: float | None = None  # set by the step study; None: the theory's step

    def with_step(self, h: float) -> FiniteDifference:
        """A copy of this scheme that uses step ``h`` (the initial step, for Richardson)."""
        other = type(self)()
        other.fixed_step = h
        return other

    def _compute(self, case, point):
        point = [float(x) for x in point]

        def f(xs):
            try:
                return float(case.fn(REAL, *[IEEE(x) for x in xs]))
            except (ArithmeticError, ValueError):
                return math.nan

        f0 = f(point)
        if not math.isfinite(f0):
            raise Unsupported(f"f = {f0} here: no difference quotient")
        grads, estimates = [], {}
        for i, name in enumerate(case.variables):
            def g(t, i=i):
                return f(point[:i] + [t] + point[i + 1:])

            d, estimate = self.derivative(case, point, i, g, f0)
            grads.append(d)
            if estimate is not None:
                estimates[name] = estimate
        return f0, grads, estimates or None

    def step(self, x: float) -> float:
        """The step at x: eps**(1/(order+1)) scaled by max(1, |x|), unless a fixed step is set."""
        h = self.fixed_step or self.default_step(x)
        return (x + h) - x  # a step that is exactly representable at x

    def default_step(self, x: float) -> float:
        return EPS ** (1.0 / (self.order + 1)) * max(1.0, abs(x))

    def derivative(self, case, point, i, g, f0):
        raise NotImplementedError


class Forward(FiniteDifference):
    name, method, order, rtol = "fd-forward", "forward difference, O(h)", 1, 1e-5

    def derivative(self, case, point, i, g, f0):
        x = point[i]
        h = self.step(x)
        return (g(x + h) - f0) / h, None


class Central(FiniteDifference):
    name, method, order, rtol = "fd-central", "central difference, O(h^2)", 2, 1e-7
    hessian_method = "central differences of this project's engine's float gradient, h = eps**(1/3) * max(1, |x_j|)"
    hessian_rtol = 1e-6

    def derivative(self, case, point, i, g, f0):
        x = point[i]
        h = self.step(x)
        return (g(x + h) - g(x - h)) / (2 * h), None

    def _hessian(self, case, point) -> list[list[float]]:
        """Central differences of this project's engine's float gradient, column by column."""
        point = [float(x) for x in point]
        n = len(point)
        columns = []
        for j in range(n):
            h = HESSIAN_STEP * max(1.0, abs(point[j]))
            up, down = list(point), list(point)
            up[j] += h
            down[j] -= h
            step = up[j] - down[j]  # the step actually taken, exactly
            gu, gd = _engine_gradient(case, up), _engine_gradient(case, down)
            columns.append([FLOAT.div(a - b, step) for a, b in zip(gu, gd)])
        return [[columns[j][i] for j in range(n)] for i in range(n)]


def _engine_gradient(case, point) -> list[float]:
    """This project's engine's float gradient of ``case`` at ``point`` (what the Hessian's stencil differences)."""
    xs = [Value(float(x)) for x in point]
    out = case.fn(VALUE_MATH, *xs)
    if not isinstance(out, Value):
        return [0.0] * len(xs)
    return [g.data for g in grad(out, xs)]


class FivePoint(FiniteDifference):
    name, method, order, rtol = "fd-five-point", "five-point stencil, O(h^4)", 4, 1e-8

    def derivative(self, case, point, i, g, f0):
        x = point[i]
        h = self.step(x)
        return (g(x - 2 * h) - 8 * g(x - h) + 8 * g(x + h) - g(x + 2 * h)) / (12 * h), None


class Richardson(FiniteDifference):
    """Central differences at h, h/2, h/4, ... extrapolated to h = 0 (Ridders' tableau)."""

    name, method, rtol = "fd-richardson", "Richardson extrapolation of central differences", 1e-9
    rows = 10

    def default_step(self, x: float) -> float:
        return 0.0625 * max(1.0, abs(x))  # the first of ten halvings

    def derivative(self, case, point, i, g, f0):
        x = point[i]
        h = self.fixed_step or self.default_step(x)

        def central(h):
            return (g(x + h) - g(x - h)) / (2 * h)

        first = central(h)
        for _ in range(40):  # shrink until both sides lie in the domain
            if math.isfinite(first):
                break
            h /= 2
            first = central(h)
        best, err = first, math.inf
        previous = [first]
        for level in range(1, self.rows):
            h /= 2
            row = [central(h)]
            factor = 4.0
            for j in range(1, len(previous) + 1):
                row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (factor - 1))
                factor *= 4
                change = max(abs(row[j] - row[j - 1]), abs(row[j] - previous[j - 1]))
                if change <= err:
                    best, err = row[j], change
            if level >= 4 and abs(row[-1] - previous[-1]) >= 2 * err:  # round-off has taken over
                break
            previous = row
        return best, err


class ComplexStep(FiniteDifference):
    """Im f(x + ih) / h: no subtraction, so no cancellation; analytic cases only."""

    name, method, rtol = "fd-complex-step", "complex step, O(h^2) with h = 1e-20", 1e-12

    def default_step(self, x: float) -> float:
        return 1e-20 * max(1.0, abs(x))

    def derivative(self, case, point, i, g, f0):
        h = self.fixed_step or self.default_step(point[i])
        xs = [complex(x) for x in point]
        xs[i] += complex(0.0, h)
        try:
            out = complex(case.fn(COMPLEX, *xs))
        except (ArithmeticError, ValueError):
            return math.nan, None
        return out.imag / h, None
