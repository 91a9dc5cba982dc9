"""The pytest-facing API, the plugin, random expressions and the fuzzer; planted bugs are caught."""
import json

import pytest
from hypothesis import HealthCheck, given, settings

from planted import BUGS, planted
from reference.tools.fuzz import fuzz, render
from reference.corpus.strategies import expressions, minimize, random_tree, text
from reference.testing import assert_gradients_agree, check_gradients

pytest_plugins = ["pytester"]


def test_agreeing_gradients_pass_in_every_form():
    assert assert_gradients_agree(lambda m, x, y: m.tanh(x / y), at={"x": 0.5, "y": 2.0}).ok
    assert assert_gradients_agree("tanh(x/y)", at={"x": 0.5, "y": 2.0}, backends=("torch",)).ok
    assert assert_gradients_agree(lambda m, x: m.exp(x) * x, at=[0.3], rtol=1e-12, backends=("torch", "sympy")).ok


def test_check_gradients_returns_the_comparison_for_other_uses():
    comparison = check_gradients("x*y + sin(x)", {"x": 1.0, "y": 2.0})
    assert [r["backend"] for r in comparison.records] == ["engine", "torch", "sympy", "fd-central"]
    assert "d/dx" in comparison.table()


def test_explicit_tolerance_is_applied():
    # Forward differences are good to ~1e-8 here: a 1e-12 tolerance must fail them, with a table.
    with pytest.raises(AssertionError) as err:
        assert_gradients_agree(lambda m, x: m.sin(x), [1.0], backends=("fd-forward",), rtol=1e-12)
    message = str(err.value)
    assert "fd-forward" in message and "oracle" in message


@pytest.mark.parametrize("bug", BUGS)
def test_assertion_helper_catches_planted_bugs(bug):
    expression = {"flipped-sign": "cos(x) * y", "missing-chain-factor": "tanh(x * y)",
                  "overwrite-not-accumulate": "x * x + y"}[bug]
    with planted(bug) as engine, pytest.raises(AssertionError, match="engine"):
        assert_gradients_agree(expression, {"x": 0.3, "y": 2.0}, engine=engine)


@pytest.mark.parametrize("bug", BUGS)
def test_fuzzer_catches_planted_bugs(bug):
    with planted(bug) as engine:
        result = fuzz(40, seed=3, engine=engine)
    assert result["findings"], f"the fuzzer missed {bug!r}"
    smallest = min(len(f["minimal"]) for f in result["findings"])
    assert smallest < 40  # minimized to something small
    assert "adcheck check" in render(result)


def test_fuzzer_is_deterministic_for_a_seed():
    first, second = fuzz(30, seed=7), fuzz(30, seed=7)
    assert first["findings"] == second["findings"] == []


def test_minimize_keeps_the_failure():
    tree = ("add", ("mul", "x", ("cos", "y")), ("tanh", "x"))
    small = minimize(tree, lambda t: "cos" in text(t))
    assert text(small) == "cos(y)"


def test_random_trees_parse():
    import random

    from reference.corpus.parser import parse
    rng = random.Random(0)
    for _ in range(200):
        parse(text(random_tree(rng)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_random_expressions_agree_across_engine_torch_and_sympy(example):
    expression, point = example
    from reference.corpus.parser import parse
    used = {v: point[v] for v in parse(expression)[0]}
    if used:
        # SymPy has no log1p: its log(1 + u) rounds 1 + u first, so it is 0 for |u| < 1e-16 (a known
        # limitation of the method, reported by the harness as such); the engine and torch keep log1p's accuracy.
        references = ("torch",) if "log1p" in expression else ("torch", "sympy")
        assert_gradients_agree(expression, used, backends=references)


def test_plugin_marker_fixture_and_records_file(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.adcheck_corpus("op:sigmoid")
        def test_case(case, gradcheck, adcheck_backends):
            assert "torch" in adcheck_backends
            for point in case.points:
                if not point.known and not point.edge:
                    gradcheck(case, point.values, backends=("torch",))
    """)
    out = pytester.path / "records.json"
    result = pytester.runpytest(f"--adcheck-records={out}", "-q")  # the plugin comes by its entry point
    from reference.corpus.cases import select
    result.assert_outcomes(passed=len(select("op:sigmoid")))
    result.stdout.no_fnmatch_line("*error*")
    records = json.loads(out.read_text())
    assert records and {r["backend"] for r in records} == {"engine", "torch"}


def test_a_custom_function_1e_5_off_fails_adcheck_but_passes_torch_gradcheck():
    import torch

    from reference.testing import torch_subject

    class SlightlyOffSin(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sin(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.cos(x) * (1 + 1e-5)  # the planted slip

    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(SlightlyOffSin.apply, (x,))  # its defaults let the slip through
    comparison = check_gradients("sin(x)", {"x": 0.7}, subject=torch_subject(SlightlyOffSin), backends="torch")
    assert not comparison.ok
    assert [r["backend"] for r in comparison.failures] == ["subject"]
    message = comparison.table()
    assert "0.7" in message and "tol" in message and "subject" in message
    # the same Function without the slip passes
    class Sin(SlightlyOffSin):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * torch.cos(x)
    assert check_gradients("sin(x)", {"x": 0.7}, subject=torch_subject(Sin), backends="torch").ok


def test_nothing_untested_reads_as_a_pass():
    # a subject that cannot run the expression fails the check (it is not "unsupported and fine")
    def broken(x):
        raise NameError("name 'math' is not defined")
    assert not check_gradients("sin(x)", {"x": 0.7}, subject=broken).ok
    with pytest.raises(ValueError, match="y"):
        check_gradients("x*y", {"x": 1.0})
    assert [r["backend"] for r in check_gradients("x*y", {"x": 1.0, "y": 2.0}, backends="torch").records] == \
        ["engine", "torch"]
    with pytest.raises(ValueError, match="order"):
        check_gradients("x*y", {"x": 1.0, "y": 2.0}, order=3)
    # order 2 with a subject that gives no Hessian: nothing checked at order 2, so not a pass
    assert not check_gradients("x*y", {"x": 1.0, "y": 2.0}, subject=lambda x, y: (x * y, [y, x]), order=2).ok


def test_a_comparison_displays_as_a_table_in_notebooks():
    from reference.testing import check_gradients
    good = check_gradients("tanh(x*y) + x**2", {"x": 0.5, "y": -1.2}, backends=("torch",))
    assert good.ok and "<table>" in good._repr_html_() and "checked and right" in good._repr_html_()
    assert good._repr_markdown_().count("\n|") >= 4  # header, rule, oracle, engine, torch
    with planted("flipped-sign") as engine:
        bad = check_gradients("cos(x) * y", {"x": 0.3, "y": 2.0}, backends=("torch",), engine=engine)
    assert not bad.ok and "color:#b00020" in bad._repr_html_() and "**FAILED mismatch**" in bad._repr_markdown_()


def test_a_gradient_rounded_into_the_subnormals_is_within_float64s_reach():
    """d/dy atan(cos(y)) at 5e-324 is -sin(y)/(1 + cos(y)**2), a hair past half the smallest subnormal:
    the exact answer rounds to -5e-324, float64's chain rule to 0 (found by the random expressions)."""
    comparison = check_gradients("atan(cos(y))", {"y": 5e-324}, backends=("torch",))
    assert comparison.ok, comparison.table()
