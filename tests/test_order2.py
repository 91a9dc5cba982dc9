"""Second order (#14): Hessians judged against the exact one, conventions at edges, gradcheck-style
checks. Every test of the checker plants a bug and shows it caught (or shows a correct engine passing)."""
from __future__ import annotations

import math

import pytest

from autodiff import Value, grad, jvp
from autodiff.rules import override, replaced
from reference.backends import make_backends
from reference.corpus.cases import CORPUS, by_name, case
from reference.judging.gradcheck import FAIL, PASS, SKIP, api_checks
from reference.running.harness import run, run_case
from autodiff.forward import TangentSweep
from reference.backends import EngineBackend, ForwardBackend, OracleBackend
from reference.core.errors import NoOracle
from reference.judging.summary import summarize
from reference.testing import check_gradients, torch_subject


def _data(x):
    return x.data if isinstance(x, Value) else x


# A sin rule whose partial escapes the graph: right at first order, cos'' lost at second order.
SIN_OFF_GRAPH = replaced("sin", partials=(lambda m, z, x: math.cos(_data(x)),))


def test_a_partial_off_the_graph_passes_order_1_and_fails_order_2():
    with override(SIN_OFF_GRAPH):
        assert check_gradients("sin(x) * y", at={"x": 0.7, "y": 1.3}, backends=()).ok
        c = check_gradients("sin(x) * y", at={"x": 0.7, "y": 1.3}, backends=(), order=2)
    assert not c.ok
    bad = [r for r in c.failures if r.get("order") == 2]
    assert bad and "x,x" in bad[0]["note"]
    assert check_gradients("sin(x) * y", at={"x": 0.7, "y": 1.3}, backends=(), order=2).ok  # the true rule


def test_forward_over_reverse_sees_the_same_planted_bug():
    c = case("s", lambda m, x: m.sin(x) * x, [0.7])
    records = run_case(c, make_backends(["forward"]), order=2)
    assert [r["verdict"] for r in records if r.get("order") == 2] == ["agree"]
    with override(SIN_OFF_GRAPH):
        records = run_case(c, make_backends(["forward"]), order=2)
    assert [r["verdict"] for r in records if r.get("order") == 2] == ["mismatch"]


def test_tangent_sweep_is_jvp_of_each_gradient_component():
    f = lambda m, x, y: m.tanh(x * y) + x ** 3 / y
    point, direction = (0.4, -1.3), (0.3, 2.0)
    for i in range(2):
        def component(x, y, i=i):
            from autodiff.engine import VALUE_MATH
            return grad(f(VALUE_MATH, x, y), [x, y], create_graph=True)[i]
        _, expected = jvp(component, point, direction)
        xs = [Value(v) for v in point]
        from autodiff.engine import VALUE_MATH
        gs = grad(f(VALUE_MATH, *xs), xs, create_graph=True)
        assert TangentSweep(gs, xs)(direction)[i] == expected


def test_pow_at_2_0_engine_symmetric_torch_asymmetric_and_known():
    pow_case = by_name("pow")
    point = next(p for p in pow_case.points if p.values == (2.0, 0.0))
    one = type(pow_case)(pow_case.name, pow_case.fn, pow_case.variables, (point,), pow_case.tags)
    records = {r["backend"]: r for r in run_case(one, make_backends(["engine", "forward", "torch"]), order=2)
               if r.get("order") == 2}
    for b in ("engine", "forward"):
        assert records[b]["verdict"] == "agree"
        assert records[b]["hessian"]["x"]["y"] == records[b]["hessian"]["y"]["x"] == 0.5
    t = records["torch"]
    assert t["verdict"] == "mismatch" and t["expected"] and "pow_backward_self" in t["note"]
    assert t["hessian"]["x"]["y"] == 0.0 and t["hessian"]["y"]["x"] == 0.5
    assert t["oracle_hessian"]["x"]["y"] == t["oracle_hessian"]["y"]["x"] == 0.5


def test_second_order_convention_at_a_kink_and_a_planted_relu_second_derivative():
    relu = by_name("relu")
    records = [r for r in run_case(relu, make_backends(["engine", "torch"]), order=2) if r.get("order") == 2]
    at0 = [r for r in records if r["point"] == {"x": 0.0}]
    assert {r["verdict"] for r in at0} == {"convention"}
    # relu' written as H(x) + 0.5x: still 0 at the kink (first order fine there), but relu''(0) = 0.5
    planted = replaced("relu", partials=(lambda m, z, x: m.heaviside(x, 0.0) + 0.5 * x,))
    with override(planted):
        records = [r for r in run_case(relu, make_backends(["engine"]), order=2)]
    first = [r for r in records if r.get("order", 1) == 1 and r["point"] == {"x": 0.0}]
    second = [r for r in records if r.get("order") == 2 and r["point"] == {"x": 0.0}]
    assert first[0]["verdict"] == "convention"
    assert second[0]["verdict"] == "mismatch" and "second-order convention" in second[0]["note"]


def test_no_exact_hessian_is_unjudged_and_fails(monkeypatch):
    def none(self, case, point):
        raise NoOracle("none")
    monkeypatch.setattr(OracleBackend, "_hessian", none)
    c = check_gradients("x * y", at={"x": 1.0, "y": 2.0}, backends=(), order=2)
    assert not c.ok
    assert [r["verdict"] for r in c.failures] == ["unjudged"]


def test_a_subject_without_a_hessian_is_not_a_pass_at_order_2():
    def subject(x):
        return x * x, [2 * x]
    assert check_gradients(lambda m, x: x * x, at={"x": 1.5}, subject=subject, backends=()).ok
    c = check_gradients(lambda m, x: x * x, at={"x": 1.5}, subject=subject, backends=(), order=2)
    assert not c.ok and any("no Hessian" in (r["note"] or "") or "order 2" in (r["note"] or "") for r in c.failures)


def test_custom_function_hessian_through_torch_subject():
    torch = pytest.importorskip("torch")

    class Cube(torch.autograd.Function):
        scale = 1.0

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x * Cube.scale

    assert check_gradients(lambda m, x: x ** 3, at={"x": 1.5}, subject=torch_subject(Cube), backends=(), order=2).ok
    Cube.scale = 1 + 1e-9
    c = check_gradients(lambda m, x: x ** 3, at={"x": 1.5}, subject=torch_subject(Cube), backends=(), order=2)
    assert not c.ok and any(r.get("order") == 2 for r in c.failures)


def test_engine_and_forward_hessians_agree_with_each_other_on_a_network():
    mlp = by_name("mlp2-3-1-tanh")
    a = EngineBackend()._hessian(mlp, mlp.points[0].values)
    b = ForwardBackend()._hessian(mlp, mlp.points[0].values)
    assert max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)) < 1e-12


def test_run_order_2_adds_hessian_records_and_a_report_section(tmp_path):
    from reference.output.report import conformance_json, conformance_markdown
    records = [r for batch in run([by_name("tanh"), by_name("maximum")], ["engine", "torch", "fd-central"],
                                  order=2) for r in batch]
    second = [r for r in records if r.get("order") == 2]
    assert second and all("hessian" in r and "oracle_hessian" in r for r in second)
    summary = summarize(records)
    assert summary["records"] == len(records) - len(second)  # first-order counts unchanged
    md = conformance_markdown(summary, {"backends": [], "versions": {}})
    assert "## Second order: Hessians" in md
    assert '"second_order"' in conformance_json(summary, {"backends": [], "versions": {}}, records)
    with pytest.raises(ValueError):
        next(run([by_name("tanh")], ["engine"], order=3))


# -- gradcheck-style checks, each with a planted bug -------------------------------------------------
TANH_NEURON = by_name("tanh_neuron")
POINT = TANH_NEURON.points[1].values


def test_the_engine_passes_the_three_checks():
    assert [(c.name, c.status) for c in api_checks(Value, TANH_NEURON, POINT)] == [
        ("reentrant", PASS), ("zero upstream", PASS), ("linear", PASS)]


class _Mini:
    """A micrograd-style engine for planted bugs: add, mul, tanh; ``missing_chain`` forgets out.grad in mul."""

    missing_chain = False
    ignores_gradient = False

    def __init__(self, data, _children=()):
        self.data, self.grad, self._prev, self._backward = float(data), 0.0, set(_children), lambda: None

    def __add__(self, other):
        other = other if isinstance(other, _Mini) else type(self)(other)
        out = type(self)(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, _Mini) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            up = 1.0 if type(self).missing_chain else out.grad
            self.grad += other.data * up
            other.grad += self.data * up
        out._backward = _backward
        return out

    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self, gradient=1.0):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0 if type(self).ignores_gradient else gradient
        for v in reversed(topo):
            v._backward()


def test_the_mini_engine_is_a_correct_control():
    assert all(c.status == PASS for c in api_checks(_Mini, TANH_NEURON, POINT))


def test_reentrant_catches_a_backward_with_state():
    class Drifting(_Mini):
        calls = 0

        def tanh(self):
            out = _Mini.tanh(self)
            inner = out._backward

            def _backward():
                Drifting.calls += 1  # a rule that reads state the first pass changed
                inner()
                self.grad += 1e-3 * Drifting.calls * out.grad
            out._backward = _backward
            return out
    checks = {c.name: c for c in api_checks(Drifting, TANH_NEURON, POINT)}
    assert checks["reentrant"].status == FAIL


def test_zero_upstream_catches_a_missing_chain_factor():
    class Planted(_Mini):
        missing_chain = True
    checks = {c.name: c for c in api_checks(Planted, TANH_NEURON, POINT)}
    assert checks["zero upstream"].status == FAIL and "missing chain factor" in checks["zero upstream"].why


def test_linear_catches_a_backward_that_ignores_its_gradient():
    class Planted(_Mini):
        ignores_gradient = True
    checks = {c.name: c for c in api_checks(Planted, TANH_NEURON, POINT)}
    assert checks["linear"].status == FAIL
    assert checks["zero upstream"].status == FAIL


def test_a_backward_without_gradient_skips_linear_with_a_reason_and_still_checks_zero_upstream():
    class NoGradient(_Mini):
        def backward(self):
            _Mini.backward(self)

    class NoGradientPlanted(NoGradient):
        missing_chain = True
    checks = {c.name: c for c in api_checks(NoGradient, TANH_NEURON, POINT)}
    assert checks["linear"].status == SKIP and "no gradient argument" in checks["linear"].why
    assert checks["zero upstream"].status == PASS and "out * 0.0" in checks["zero upstream"].why
    planted = {c.name: c for c in api_checks(NoGradientPlanted, TANH_NEURON, POINT)}
    assert planted["zero upstream"].status == FAIL


def test_check_gradients_with_gradchecks_fails_on_a_planted_class():
    class Planted(_Mini):
        missing_chain = True
    c = check_gradients(lambda m, x, y: m.tanh(x * y) + x, at={"x": 0.3, "y": 0.8}, backends=(), engine=Planted,
                        gradchecks=True)
    assert not c.ok


@pytest.mark.slow
def test_whole_corpus_at_order_2_subject_failures_are_exactly_the_reported_ones():
    records = [r for batch in run(CORPUS, ["engine", "forward", "torch", "sympy", "fd-central"], workers=2, order=2)
               for r in batch]
    s2 = summarize(records)["second_order"]
    failures = {(r["case"], tuple(r["point"].values()), r["backend"]) for r in s2["subject_failures"]}
    # forward over reverse skips an underflowed zero tangent times a nan partial (see the report)
    assert failures <= {("pow", (-2.0, -2000.0), "forward")}
    torch_findings = [r for r in s2["reference_findings"] if r["backend"] == "torch"]
    assert all(r["expected"] for r in torch_findings)


# -- one pipeline for every order (issue 23): each backend's Hessian behind the Backend interface ------
def test_each_backend_offers_its_hessian_through_evaluate():
    c = case("tanh_xy", lambda m, x, y: m.tanh(x * y) + x ** 3 / y, [(0.4, -1.3)])
    point = c.points[0].values
    exact = OracleBackend().evaluate(c, point, order=2)
    assert exact.status == "ok" and len(exact.hessian) == 2
    offering = {b.name for b in make_backends() if b.has_hessian}
    assert offering == {"engine", "forward", "torch", "sympy", "fd-central"}
    for b in make_backends():
        got = b.evaluate(c, point, order=2)
        if b.name not in offering:
            assert got.status == "unsupported" and "no second-order method" in got.message
            continue
        assert got.status == "ok" and got.value != got.value and got.grad == {}  # the Hessian only
        rtol = b.method_at(2)[1] * 10
        for row, truth in zip(got.hessian, exact.hessian):
            assert row == pytest.approx(truth, rel=rtol, abs=rtol)
    with pytest.raises(ValueError):
        make_backends(["engine"])[0].evaluate(c, point, order=3)


def test_judge_and_record_take_the_order():
    from reference.judging.judge import judge
    from reference.running.harness import record
    c = case("xy", lambda m, x, y: x * y * y, [(1.5, 2.0)])
    point, engine = c.points[0], make_backends(["engine"])[0]
    oracle = OracleBackend().evaluate(c, point.values, order=2)
    wrong = engine.evaluate(c, point.values, order=2)
    wrong.hessian[0][1] += 1e-6
    j = judge(wrong, oracle, engine, c, point, order=2)
    assert j.verdict == "mismatch" and j.note.startswith("off: x,y") and "mixed partials differ" in j.note
    r = record(c, point, engine, engine.evaluate(c, point.values, order=2), oracle, order=2)
    assert r["order"] == 2 and r["verdict"] == "agree" and r["hessian"] == {"x": {"x": 0.0, "y": 4.0},
                                                                             "y": {"x": 4.0, "y": 3.0}}
    assert "order" not in record(c, point, engine, engine.evaluate(c, point.values), OracleBackend().evaluate(
        c, point.values), order=1)


def test_a_callable_subject_may_return_its_hessian_third():
    def subject(x):
        return x ** 3, [3 * x * x], [[6 * x]]
    assert check_gradients(lambda m, x: x ** 3, at={"x": 1.5}, subject=subject, backends=()).ok
    assert check_gradients(lambda m, x: x ** 3, at={"x": 1.5}, subject=subject, backends=(), order=2).ok


def test_no_function_or_class_has_an_order_2_twin():
    import ast
    from pathlib import Path
    names = set()
    for path in Path(__file__).parent.parent.joinpath("reference").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    twins = sorted(n for n in names if n.endswith("2") and n[:-1] in names)
    assert not twins and not names & {"judge2", "record2", "run_case2", "Judgement2"}
