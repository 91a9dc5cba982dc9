"""The catalogue of classic slips in a local partial, each generated from the registry's own rule.

A slip is a candidate for what the engine computes instead of the true partial: the rule
evaluated on the input where it needs the output, a flipped sign, a factor too few or too many,
the power rule's precedence slip, the partials of two inputs swapped. ``fit`` returns the first
slip that reproduces the engine's number at every probe point.
"""
from __future__ import annotations

import math

import sympy

from reference.oracle.rule_math import SYMPY_RULE_MATH
from reference.subject import ops as _ops
from reference.subject.sim import close


def _formula(info, i: int, replace: str = "") -> str:
    """The rule's partial as a formula over x (y) and z, via SymPy (``replace`` swaps output and input)."""
    x, y, z = sympy.symbols("x y z", real=True)
    args = (x, y)[:info.arity] + tuple(sympy.Symbol(p, real=True) for p in info.params)
    zz = x if replace == "z->x" else z
    if replace == "x->z":
        args = (z,) + args[1:]
    p = info.rule.partials[i]
    expr = sympy.sympify(p) if isinstance(p, float) else p(SYMPY_RULE_MATH, zz, *args)
    return str(sympy.simplify(expr)).replace("Heaviside", "step")


def candidates(info, i: int):
    """(name, summary, fn(point, params) -> the slipped partial) for input i of this op."""
    m = _ops.FLOAT
    rule = info.rule

    def true(p, c):
        return rule.partial(i, m, info.forward(p, c), *p, *c)

    out = [("sign", "the sign is flipped", lambda p, c: -true(p, c))]
    if callable(rule.partials[i]):
        def input_for_output(p, c):
            return rule.partial(i, m, p[0], *p, *c)
        def output_for_input(p, c):
            z = info.forward(p, c)
            return rule.partial(i, m, z, z, *p[1:], *c)
        shown = _formula(info, i, "z->x")
        out.append(("input for output",
                    f"looks like {shown}: the input, not the output" if shown else
                    "the rule is evaluated on the input x where it needs the output z", input_for_output))
        shown = _formula(info, i, "x->z")
        out.append(("output for input",
                    f"looks like {shown}: the output, not the input" if shown else
                    "the rule is evaluated on the output z where it needs the input x", output_for_input))
    if info.arity == 2:
        out.append(("swapped", "the partials of the two inputs are swapped",
                    lambda p, c: rule.partial(1 - i, m, info.forward(p, c), *p, *c)))
    if info.params:
        out.append(("precedence", f"looks like {info.params[0]} * x**{info.params[0]} - 1 instead of "
                                  f"{info.params[0]} * x**({info.params[0]} - 1): the power rule's precedence slip",
                    lambda p, c: c[0] * info.forward(p, c) - 1))
    names = [("x", 0), ("y", 1)][:info.arity]
    for name, k in names:
        out.append((f"missing factor {name}", f"a factor {name} is missing", lambda p, c, k=k: true(p, c) / p[k]))
        out.append((f"extra factor {name}", f"an extra factor {name}", lambda p, c, k=k: true(p, c) * p[k]))
    for j, name in enumerate(info.params):
        out.append((f"missing factor {name}", f"the factor {name} is missing", lambda p, c, j=j: true(p, c) / c[j]))
    for factor in (2.0, 0.5):
        out.append((f"factor {factor:g}", f"{factor:g} times the true partial (a constant factor too many or too few)",
                    lambda p, c, f=factor: f * true(p, c)))
    out.append(("upstream", "the output z instead of the local partial", lambda p, c: info.forward(p, c)))
    out.append(("zero", "no gradient reaches this input", lambda p, c: 0.0))
    return out


def fit(info, i: int, observations) -> tuple[str, str] | None:
    """(name, summary) of the first slip matching every (point, params, got); None if none does."""
    for name, summary, fn in candidates(info, i):
        try:
            if all(close(got, float(fn(p, c)), 1e-6, 1e-12) for p, c, got in observations):
                return name, summary
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            continue
    return None


def fit_forward(info, observations) -> str:
    """What a wrong forward computes instead, in words ('' if no simple pattern fits)."""
    tests = [("its operands are swapped", lambda p, c: info.forward(tuple(reversed(p)), c)),
             ("its sign is flipped", lambda p, c: -info.forward(p, c))]
    if info.arity == 1:
        tests.append((f"it is {info.name}(-x): the input's sign is flipped (a sign slip inside the formula)",
                      lambda p, c: info.forward((-p[0],), c)))
    for summary, fn in tests:
        if all(close(got, fn(p, c)) for p, c, got in observations):
            return summary
    ratios = [got / info.forward(p, c) for p, c, got in observations if info.forward(p, c) != 0]
    if ratios and all(close(r, ratios[0]) for r in ratios) and not close(ratios[0], 1.0):
        return f"it is {ratios[0]:.6g} times the true value at every probe point"
    return ""


def _round_numbers():
    for k in range(-20, 4):
        for m in range(1, 10):
            for sign in (1.0, -1.0):
                yield sign * m * 10.0 ** k
    yield from (88.0, -88.0, 700.0, -700.0, 709.0, -709.0, 745.0, -745.0, 20.0, -20.0, 50.0, -50.0)


def fit_clip(info, observations) -> str:
    """'looks clipped at c' when a wrong value equals the op at one round input c (unary ops)."""
    if info.arity != 1:
        return ""
    found = []
    for inputs, params, got in observations:
        hit = None
        for c in _round_numbers():
            try:
                v = info.forward((c,), params)
            except (ValueError, OverflowError, ZeroDivisionError):
                continue
            if math.isfinite(v) and close(got, v, 1e-9, 1e-300):
                hit = c
                break
        if hit is None:
            return ""
        found.append((inputs[0], hit, got))
    _, c, got = found[0]
    bounds = sorted({f"{c:g}" for _, c, _ in found})
    return (f"{got:.5g} = {info.name}({c:g}): looks clipped at {' and '.join(bounds)} "
            f"(the input is clamped before {info.name})")


def fit_polynomial(info, i: int, observations) -> str:
    """'looks like (1 - z)**2' when the engine's partial of a unary op is a small polynomial with simple
    coefficients in its output z or its input x, at every probe point (a learner's slip in the formula)."""
    if info.arity != 1 or len(observations) < 4:
        return ""
    from fractions import Fraction
    for var in ("z", "x"):
        rows, rhs = [], []
        for p, c, got in observations:
            t = info.forward(p, c) if var == "z" else p[0]
            rows.append([1.0, t, t * t])
            rhs.append(got)
        coef = _solve3(rows[:3], rhs[:3])
        if coef is None:
            continue
        simple = [Fraction(k).limit_denominator(4) for k in coef]
        if any(abs(float(f) - k) > 1e-9 * max(1.0, abs(k)) or abs(f) > 10 for f, k in zip(simple, coef)):
            continue
        if not all(close(got, sum(float(f) * r for f, r in zip(simple, row)), 1e-9, 1e-12)
                   for row, got in zip(rows, rhs)):
            continue
        t = sympy.Symbol(var, real=True)
        expr = sum(sympy.Rational(f.numerator, f.denominator) * t ** k for k, f in enumerate(simple))
        if expr == 0:
            return ""
        return f"looks like {sympy.factor(expr)} (the true partial is {_formula(info, i)})"
    return ""


def _solve3(rows, rhs):
    """Cramer's rule for three equations (None if singular)."""
    def det(m):
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    d = det(rows)
    if abs(d) < 1e-12:
        return None
    out = []
    for j in range(3):
        m = [list(r) for r in rows]
        for k in range(3):
            m[k][j] = rhs[k]
        out.append(det(m) / d)
    return out
