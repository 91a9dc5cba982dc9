"""The oracle: exact, certain, stored for the corpus, honest where SymPy alone would fail."""
from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

from reference.oracle import store as oracle
from reference.backends.symbolic import evaluate, sympy_float
from reference.corpus.cases import CORPUS, Case, Point, by_name, case
from reference.oracle.exact import Derivation
from reference.oracle.balls import certain, settle, to_double
from reference.corpus.parser import to_case
from reference.oracle.store import exact, exact_with_conventions
from reference.core.errors import NoOracle

ROOT = Path(__file__).resolve().parents[1]


def nan_equal(a, b) -> bool:
    return a == b or (a != a and b != b)


def at(text: str, order: int = 1, **values):
    c = to_case(text, {k: float(v) for k, v in values.items()})
    return exact(c, c.points[0].values, order=order)


# -- the stored corpus oracle ------------------------------------------------------------------------
def test_stored_oracle_is_fresh():
    """Every corpus case's fingerprint matches the data file: rebuild with `python -m reference.oracle --rebuild`."""
    assert oracle.stale() == [], "stale oracle data: run `python -m reference.oracle --rebuild` and commit it"


def test_stored_oracle_reads_fast_and_has_every_point():
    for c in CORPUS:
        for i in range(len(c.points)):
            _value, grad, hessian = oracle.oracle_for(c, i)
            assert len(grad) == len(c.variables)
            assert len(hessian) == len(c.variables) and all(len(row) == len(c.variables) for row in hessian)


def test_fingerprint_sees_a_changed_constant():
    a = case("same-name", lambda m, x: x * 0.1, [1.0])
    b = case("same-name", lambda m, x: x * 0.1000000000000001, [1.0])
    c = case("same-name", lambda m, x: x * 0.1, [2.0])
    assert len({oracle.fingerprint(a), oracle.fingerprint(b), oracle.fingerprint(c)}) == 3


@pytest.mark.slow
def test_full_recompute_matches_the_file_without_avx512(tmp_path):
    """Recompute the whole corpus in a fresh process imitating a CPU without AVX-512: same bytes."""
    target = tmp_path / "oracle.json.gz"
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES="X86_V4")
    code = ("import sys; from pathlib import Path; from reference.oracle.rebuild import rebuild; "
            f"rebuild(Path({str(target)!r}), workers=2)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=900)
    fresh = json.loads(gzip.decompress(target.read_bytes()))
    stored = json.loads(gzip.decompress(oracle.DATA.read_bytes()))
    assert fresh["cases"] == stored["cases"]
    assert target.read_bytes() == oracle.DATA.read_bytes()


# -- precision: the correctly rounded double -----------------------------------------------------------
def test_one_minus_tanh_squared_at_58_is_correctly_rounded():
    value, (slope,), _ = at("1 - tanh(x)**2", x=58)
    assert value == 1.6745575997216926e-50
    with mpmath.workdps(200):
        t = mpmath.tanh(58)
        assert slope == float(mpmath.nstr(-2 * t * (1 - t * t), 40))


@pytest.mark.parametrize("x", [60.0, 100.0, 300.0])
def test_one_minus_tanh_squared_is_not_zero_past_60(x):
    value, _, _ = at("1 - tanh(x)**2", x=x)
    with mpmath.workdps(400):
        expected = float(mpmath.nstr(1 - mpmath.tanh(x) ** 2, 40))
    assert value == expected > 0


def test_to_double_rounds_once_even_in_the_subnormal_range():
    for exact_value in (Fraction(3, 7) * Fraction(1, 2 ** 1060), Fraction(5, 2 ** 1075), Fraction(1, 2 ** 1075),
                        Fraction(3, 2 ** 1076), Fraction(2 ** 53 + 1, 2 ** 53), Fraction(10) ** 400):
        with mpmath.workprec(400):
            v = mpmath.mpf(exact_value.numerator) / exact_value.denominator
        expected = math.inf if exact_value > 2 ** 1024 else float(exact_value)
        assert to_double(v) == expected


def test_a_value_next_to_a_rounding_boundary_waits_for_more_precision():
    # 1 + 2**-53 + 2**-200 rounds up; at 128 bits it looks like the tie 1 + 2**-53 (which rounds to 1.0).
    def compute():  # the value rounded at the working precision, with its error bound
        m = mpmath.mpf(1) + mpmath.mpf(2) ** -53 + mpmath.mpf(2) ** -200
        return [(m, mpmath.ldexp(1, 1 - mpmath.mp.prec))]

    (value,), bits = settle(compute)
    assert value == 1 + 2 ** -52 and bits == 256
    with mpmath.workprec(128):
        tie = mpmath.mpf(1) + mpmath.mpf(2) ** -53
    assert certain((tie, mpmath.mpf(0))) == 1.0  # an exact tie rounds to even
    assert certain((tie, mpmath.mpf(2) ** -300)) is None


def test_equal_results_at_two_precisions_are_not_proof():
    # tanh(100) is exactly 1 at 128 and at 256 bits; 1 - tanh(100)**2 is still 5.5e-87
    value, _, _ = at("1 - tanh(x)**2", x=100)
    assert value == 5.53558610694695e-87


def test_exact_zero_by_cancellation_is_zero():
    value, (slope,), ((curvature,),) = exact(case("e/e", lambda m, x: m.exp(x) / m.exp(x), [300]), (300.0,), 2,
                                             route="chain")
    assert (value, slope, curvature) == (1.0, 0.0, 0.0)


def test_constants_enter_exactly():
    _value, (slope,), _ = exact(case("c", lambda m, x: 0.1 * x + 0.2 * x + 0.3 * x, [1]), (1.0,))
    exact_sum = float(Fraction(0.1) + Fraction(0.2) + Fraction(0.3))
    assert slope == exact_sum == 0.6 != 0.1 + 0.2 + 0.3


@pytest.mark.slow
def test_mlp_partials_with_exact_constants_agree_across_routes():
    """SymPy's whole-expression derivative (exact constants) equals the exact chain rule, bit for bit."""
    c = by_name("mlp1-8-8-1-tanh")
    for i, p in enumerate(c.points):
        sym = exact(c, p.values, order=1, budget=None, route="sympy")
        chain = exact(c, p.values, order=1, budget=None, route="chain")
        stored = oracle.oracle_for(c, i)
        assert sym[:2] == chain[:2] == stored[:2]


# -- honest numbers where SymPy's own code fails ------------------------------------------------------
def test_relu_slope_at_nan_is_nan():
    value, (slope,), ((curvature,),) = at("relu(x)", order=2, x=math.nan)
    assert math.isnan(value) and math.isnan(slope) and math.isnan(curvature)
    assert all(math.isnan(v) for v in sympy_float(to_case("relu(x)", {"x": math.nan}), (math.nan,)))


@pytest.mark.parametrize(("text", "point", "value", "grad"), [
    ("x/0", {"x": 1}, math.inf, (math.inf,)),
    ("x/0", {"x": -1}, -math.inf, (math.inf,)),
    ("x/0", {"x": 0}, math.nan, (math.inf,)),
    ("cos(1e309)*x", {"x": 1}, math.nan, (math.nan,)),
    ("x + 1e309", {"x": 1}, math.inf, (1.0,)),
    ("x - 1e309 + 1e309", {"x": 1}, math.nan, (1.0,)),
    ("select*less + mpf", {"select": 1.5, "less": 2, "mpf": 3}, 6.0, (2.0, 1.5, 1.0)),
    ("x*100000000000000000000000000", {"x": 1.5}, 1.5e26, (1e26,)),
    ("x*y", {"x": 1e300, "y": 1e300}, math.inf, (1e300, 1e300)),
    ("log(0)*x", {"x": 2}, -math.inf, (-math.inf,)),
    ("sqrt(-1) + x", {"x": 1}, math.nan, (1.0,)),
    ("x**y", {"x": -2, "y": -2000}, 0.0, (0.0, math.nan)),
])
def test_sympy_side_failures_are_honest_numbers(text, point, value, grad):
    c = to_case(text, {k: float(v) for k, v in point.items()})
    got_value, got_grad, _ = exact(c, c.points[0].values)
    assert nan_equal(got_value, value) and all(nan_equal(a, b) for a, b in zip(got_grad, grad))
    floats = sympy_float(c, c.points[0].values)  # SymPy's float code runs too, never raising
    assert len(floats) == 1 + len(grad)


def test_sympy_float_runs_in_the_printed_order_with_ieee_numbers():
    import sympy
    x, y, z = sympy.symbols("x y z", real=True)
    total = x + y + z
    assert str(total) == "x + y + z"  # the printed order: (x + y) + z, where 1e16 + 1 rounds to 1e16
    assert evaluate([total], {x: 1e16, y: 1.0, z: -1e16}) == [0.0]
    big = sympy.Integer(2 ** 60 + 1)  # past 2**53: correctly rounded, as the printed _q(p, 1) was
    assert evaluate([big * x, sympy.Rational(1, 3) * x], {x: 1.0}) == [float(2 ** 60), 1 / 3]
    assert evaluate([1 / x, sympy.log(x), sympy.sqrt(x)], {x: 0.0}) == [math.inf, -math.inf, 0.0]
    assert all(math.isnan(v) for v in evaluate([sympy.log(x), sympy.sqrt(x)], {x: -1.0}))


def test_sympy_float_has_no_code_for_unknown_nodes_and_no_depth_limit():
    import sympy
    x = sympy.Symbol("x", real=True)
    for unknown in (sympy.Function("f")(x), sympy.Derivative(sympy.Function("f")(x), x),
                    sympy.Piecewise((x, x > 0), (0, True))):
        with pytest.raises(NoOracle, match="no IEEE float code"):
            evaluate([unknown + 1], {x: 0.5})
    deep = x
    for _ in range(3000):  # deeper than Python's recursion limit
        deep = sympy.sin(deep, evaluate=False)
        hash(deep)  # SymPy's own hash recurses: take it level by level
    assert evaluate([deep], {x: 0.0}) == [0.0]


def test_integer_literals_past_2_to_the_64():
    value, (slope,), _ = at("x * 36893488147419103232 + 1", x=0.5)  # 2**65
    assert value == 2.0 ** 64 and slope == 2.0 ** 65


def test_what_cannot_be_certain_is_no_oracle_not_a_number(monkeypatch):
    from reference.oracle import balls
    monkeypatch.setattr(balls, "SCHEDULE", (64, 80))  # too little for 1 - tanh(58)**2
    c = case("c", lambda m, x: 1 - m.tanh(x) ** 2, [58])
    with pytest.raises(NoOracle, match="not certain at 80 bits"):
        Derivation(c).exact((58.0,))
    with pytest.raises(NoOracle, match="not certain at 80 bits"):
        exact(c, (58.0,), route="chain")


# -- Hessians ---------------------------------------------------------------------------------------
def test_hessian_both_orders_of_x_to_the_y():
    _, _, hessian = at("x**y", order=2, x=2, y=0)
    assert hessian[0][1] == hessian[1][0] == 0.5


def test_hessian_routes_agree_on_a_composite():
    c = by_name("tiny_net")
    for p in c.points:
        assert exact(c, p.values, 2, route="sympy") == exact(c, p.values, 2, route="chain")


# -- the chain rule under declared conventions -----------------------------------------------------------
RELU2 = case("relu*relu", lambda m, x, y: m.relu(x) * m.relu(y), [(0, 2)])
POW_SIN = case("x**y+sin(x)", lambda m, x, y: x ** y + m.sin(x), [(0, 2)])


@pytest.mark.parametrize(("slope", "expected"), [(0.0, (0.0, 0.0)), (0.5, (1.0, 0.0)), (1.0, (2.0, 0.0))])
def test_relu_times_relu_at_the_kink(slope, expected):
    assert exact_with_conventions(RELU2, (0.0, 2.0), {"relu@0": (slope,)}) == (0.0, expected)


def test_pow_at_zero_inside_a_composite():
    assert oracle.edges_at(POW_SIN, (0.0, 2.0)) == {"pow@x=0"}
    # d/dx (x**y + sin x) = [pow's d/dx] + cos 0; d/dy = [pow's d/dy]
    assert exact_with_conventions(POW_SIN, (0.0, 2.0), {"pow@x=0": (0.0, 0.0)}) == (0.0, (1.0, 0.0))
    assert exact_with_conventions(POW_SIN, (0.0, 2.0), {"pow@x=0": (0.0, 7.0)}) == (0.0, (1.0, 7.0))
    value, grad = exact_with_conventions(POW_SIN, (0.0, 2.0), {})  # no convention: SymPy's formula, nan
    assert value == 0.0 and all(math.isnan(g) for g in grad)


def test_a_convention_travels_through_the_chain_rule():
    c = case("k", lambda m, x: 3 * m.relu(x) + m.relu(2 * x) * m.exp(x), [0])
    assert exact_with_conventions(c, (0.0,), {"relu@0": (0.25,)}) == (0.0, (3 * 0.25 + 2 * 0.25,))
    p = case("p", lambda m, x, y: (x ** y) * y, [(0, 2)])
    assert exact_with_conventions(p, (0.0, 2.0), {"pow@x=0": (0.0, 0.0)}) == (0.0, (0.0, 0.0))


def test_without_overrides_the_chain_rule_is_the_oracle():
    for name in ("tanh_neuron", "bce", "hinge", "x**y**z", "micrograd_more_ops"):
        c = by_name(name)
        for i, p in enumerate(c.points):
            value, grad, _ = oracle.oracle_for(c, i)
            assert exact_with_conventions(c, p.values, {}) == (value, grad)


# -- the CPU budget ----------------------------------------------------------------------------------
@pytest.mark.parametrize("budget", [0, -1, math.nan, math.inf, 1e300, "5", True])
def test_bad_budgets_are_one_line_value_errors(budget):
    with pytest.raises(ValueError) as err:
        exact(RELU2, (1.0, 2.0), budget=budget)
    assert "\n" not in str(err.value) and "budget" in str(err.value)


def test_running_out_of_budget_is_no_oracle():
    names = tuple(f"p{i}" for i in range(12))
    c = Case("slow", lambda m, *p: sum((m.tanh(a * b + 0.1) for a in p for b in p), 0.0), names,
             (Point(tuple(0.1 * i for i in range(12))),))
    with pytest.raises(NoOracle, match="budget"):
        exact(c, c.points[0].values, order=2, budget=0.05, route="sympy")


@pytest.mark.parametrize("text, point, grad", [
    ("leaky_relu(relu(tanh(y)))", {"y": -0.9}, [0.0]),  # relu of a ball below 0 is exactly 0: the kink above is certain
    ("maximum(x, y) * relu(x - 2)", {"x": 0.5, "y": -1.0}, [0.0, 0.0]),
    ("maximum(x, y) + relu(x) - leaky_relu(y)", {"x": 0.5, "y": -1.0}, [2.0, -0.01]),
])
def test_relu_and_maximum_are_built_fast_and_settle_where_the_kink_is_not_reached(text, point, grad):
    """relu, leaky_relu and maximum are SymPy functions of their own (not Max/Min), with Max's derivatives."""
    _, slopes, _ = at(text, **point)
    assert list(slopes) == grad


def test_max_and_min_in_the_sympy_namespace_keep_maxs_derivatives():
    import sympy

    from reference.oracle.definitions import SYMPY_NS as s
    x, y = sympy.symbols("x y", real=True)
    for fast, slow in ((s.Max(0, x), sympy.Max(0, x)), (s.Min(0, x), sympy.Min(0, x)),
                       (s.Max(x, y), sympy.Max(x, y)), (s.Min(x, y), sympy.Min(x, y))):
        assert fast.func is not slow.func
        for v in (x, y):
            for px, py in ((0, 0), (1, -2), (-1, 3)):
                at_point = {x: px, y: py}
                assert fast.diff(v).subs(at_point) == slow.diff(v).subs(at_point)
                assert fast.subs(at_point) == slow.subs(at_point)
