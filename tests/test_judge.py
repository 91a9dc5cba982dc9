"""Judging: every test plants a bug (or a trap for the checker) and shows the verdict it must get.

The first four are the false passes of issue #12: each passed the old harness.
"""
import math

import pytest

from autodiff.rules import RULES, override, replaced
from reference.backends import ERROR, OK, Backend, Result, make_backends
from reference.corpus.cases import case, make_point
from reference.corpus.parser import to_case
from reference.running.harness import run_case
from reference.judging.judge import PointGraph
from reference.testing import check_gradients


def engine_verdicts(c, point_index=0):
    records = run_case(c, make_backends(["engine"]))
    return records[point_index]


def planted(name, i, fn):
    """The registry row ``name`` with partial ``i`` replaced by ``fn`` (others kept)."""
    partials = list(RULES[name].partials)
    partials[i] = fn
    return replaced(name, partials=tuple(partials))


# -- the four false passes ---------------------------------------------------------------------
def test_a_large_partial_no_longer_hides_a_wrong_small_one():
    c = to_case("sin(y) + 1e7*x", {"x": 0.5, "y": 1.0})
    assert engine_verdicts(c)["verdict"] == "agree"
    with override(planted("sin", 0, lambda m, z, x: 1.001 * m.cos(x))):
        r = engine_verdicts(c)
    assert r["verdict"] == "mismatch" and "y" in r["note"], r


def test_a_composite_at_a_domain_edge_must_follow_the_declared_convention():
    c = to_case("x**y + sin(x)", {"x": 0.0, "y": 2.0})
    assert engine_verdicts(c)["verdict"] == "convention"
    original = RULES["pow"].partials[1]
    # float(x) keeps the engine's code generator from tracing the branch (it calls the function instead)
    with override(planted("pow", 1, lambda m, z, x, y: 7.0 if float(x) == 0 else original(m, z, x, y))):
        r = engine_verdicts(c)
    assert r["grad"]["y"] == 7.0
    assert r["verdict"] == "mismatch" and "pow@x=0" in r["note"], r


def test_nan_against_a_nan_oracle_consults_the_convention_first():
    c = to_case("x**y", {"x": 0.0, "y": 2.0})
    good = engine_verdicts(c)
    assert good["verdict"] == "convention" and math.isnan(good["oracle_grad"]["y"])
    a, b = RULES["pow"].partials
    nan = float("nan")
    regressed = replaced("pow", partials=(lambda m, z, x, y: nan if float(x) == 0 else a(m, z, x, y),
                                          lambda m, z, x, y: nan if float(x) == 0 else b(m, z, x, y)))
    with override(regressed):
        r = engine_verdicts(c)
    assert math.isnan(r["grad"]["x"]) and math.isnan(r["grad"]["y"])
    assert r["verdict"] == "mismatch", r


def test_no_oracle_is_not_judged_and_fails(monkeypatch):
    from reference.running import harness

    monkeypatch.setattr(harness, "_oracle", lambda c, p: Result("oracle", ERROR, message="SymPy ran out of time",
                                                                 kind="timeout"))
    with override(planted("cos", 0, lambda m, z, x: m.sin(x))):
        comparison = check_gradients("cos(x) * y", {"x": 0.3, "y": 2.0})
    assert not comparison.ok
    assert {r["verdict"] for r in comparison.records} <= {"unjudged"}
    assert "no oracle" in comparison.table()  # the table says why, and does not raise


# -- per-component tolerance, stated -------------------------------------------------------------
def test_each_component_has_its_own_tolerance_and_a_factor_one_plus_1e_6_is_caught():
    c = to_case("exp(x) * sin(y)", {"x": 0.5, "y": 1.0})
    with override(planted("sin", 0, lambda m, z, x: (1 + 1e-6) * m.cos(x))):
        r = engine_verdicts(c)
    assert r["verdict"] == "mismatch"
    assert set(r["tolerances"]) == {"value", "x", "y"}
    assert r["tolerances"]["y"] < 1e-9 * abs(r["oracle_grad"]["y"]) + 1e-15


def test_float64s_own_error_widens_only_that_partial():
    # 1 - tanh(x)**2 at 8 cancels 7 digits in every float program: allowed, with a note ...
    c = to_case("1 - tanh(x)**2", {"x": 8.0})
    r = engine_verdicts(c)
    assert r["verdict"] == "agree" and "float64" in r["note"]
    # ... but a 1e-6 relative slip in tanh's rule is still far outside that allowance.
    with override(planted("tanh", 0, lambda m, z, x: (1 + 1e-6) * (1.0 - z * z))):
        assert engine_verdicts(c)["verdict"] == "mismatch"
    # the allowance of d/dy in sin(y) + 1e7*x comes from d/dy's own float error, not from the 1e7
    c = to_case("sin(y) + 1e7*x", {"x": 0.5, "y": 1.0})
    errors = dict(zip(["value", *c.variables], PointGraph(c, c.points[0].values).float_errors))
    assert errors["y"] < 1e-14 and errors["value"] > 1e-10


# -- kinks, raises, references -------------------------------------------------------------------
class _Relu:
    """A micrograd-style engine with relu only; its relu'(0) is ``slope``."""

    slope = 1.0

    def __init__(self, data):
        self.data, self.grad = float(data), 0.0

    def relu(self):
        out = type(self)(max(self.data, 0.0))
        out._src = self
        return out

    def backward(self):
        s = self._src
        s.grad += 1.0 if s.data > 0 else (self.slope if s.data == 0 else 0.0)


@pytest.mark.parametrize("slope,verdict", [(1.0, "convention"), (0.25, "convention"), (2.0, "mismatch"),
                                           (-0.5, "mismatch")])
def test_any_valid_subgradient_at_a_kink_is_a_convention_and_the_record_says_which(slope, verdict):
    from reference.backends import EngineBackend
    engine = type("Relu", (_Relu,), {"slope": slope})
    (r,) = run_case(case("relu-at-kink", lambda m, x: m.relu(x), [make_point(0.0)]), [EngineBackend(engine)])
    assert r["verdict"] == verdict, r
    if verdict == "convention":
        assert f"{slope:g}" in r["note"]


class _Raising(Backend):
    name, subject = "raiser", True

    def __init__(self, exc):
        self.exc = exc

    def _compute(self, c, point):
        raise self.exc


def test_a_raise_at_a_domain_edge_is_raises_but_at_an_ordinary_point_a_mismatch():
    edge = to_case("x**-1", {"x": 0.0})
    (r,) = run_case(edge, [_Raising(ZeroDivisionError("0.0 cannot be raised to a negative power"))])
    assert r["verdict"] == "raises"
    (r,) = run_case(to_case("x**-1", {"x": 2.0}), [_Raising(ZeroDivisionError("no"))])
    assert r["verdict"] == "mismatch"
    (r,) = run_case(edge, [_Raising(NameError("name 'math' is not defined"))])
    assert r["verdict"] == "mismatch"  # not float semantics


def test_a_reference_failing_itself_is_error_in_its_own_row_not_a_subject_failure():
    from reference.judging.summary import exit_status, summarize
    raiser = _Raising(RuntimeError("lambdify broke"))
    raiser.subject, raiser.name = False, "sympy"
    records = run_case(to_case("x*y", {"x": 1.0, "y": 2.0}), [*make_backends(["engine"]), raiser])
    assert [r["verdict"] for r in records] == ["agree", "error"]
    s = summarize(records)
    assert not s["subject_failures"] and len(s["reference_findings"]) == 1 and exit_status(s) == 0


def test_exit_status_rests_on_the_subject():
    from reference.judging.summary import exit_status, summarize
    with override(planted("cos", 0, lambda m, z, x: m.sin(x))):
        records = run_case(to_case("cos(x)", {"x": 0.3}), make_backends(["engine", "torch"]))
    s = summarize(records)
    assert exit_status(s) == 1 and [r["backend"] for r in s["subject_failures"]] == ["engine"]
    assert s["coverage"]["records_run"] == s["coverage"]["records"] == 1


def test_records_stay_floats_and_the_json_boundary_never_fails():
    import json

    from reference.output.report import dumps
    records = run_case(to_case("log(x)", {"x": 0.0}), make_backends(["engine", "torch"]))
    assert records[0]["value"] == -math.inf
    doc = json.loads(dumps(records))
    assert doc[0]["value"] == "-inf"


def test_oracle_status_ok_is_required_for_any_verdict_other_than_unjudged():
    r = Result("oracle", OK, 1.0, {"x": 1.0})
    assert r.status == OK
