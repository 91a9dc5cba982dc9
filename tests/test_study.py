"""The per-operation study: pages, proofs, and the effects its data must show."""
import math

import pytest

from autodiff import RULES
from reference.output.proof import rules_side_by_side
from reference.output.study import study_op, write_study

# Kinks where the rule's piecewise partial and SymPy's Heaviside form differ only at the kink itself
# (abs's rule sign(x) is SymPy's own derivative, so it is proved).
NONSMOOTH = {"relu", "leaky_relu", "maximum"}


@pytest.mark.parametrize("op", sorted(RULES))
def test_engine_rule_is_proved_equal_to_sympy_diff(op):
    _, partials = rules_side_by_side(op)
    expected = "numerically equal" if op in NONSMOOTH else "proved equal"
    assert {p.proof for p in partials} == {expected}, [(p.proof, p.proof_detail) for p in partials]


def test_engine_rule_is_evaluated_not_typed_in():
    _, (p,) = rules_side_by_side("tanh")
    assert str(p.engine_as_written) in ("1.0 - z**2", "1 - z**2")
    _, (_, dy) = rules_side_by_side("div")
    assert dy.torch_same == "the same expression"  # -z/y, and torch's (x/y)/y


def test_tanh_sweep_shows_the_cancellation_and_the_better_formula():
    sweep = study_op("tanh").sweep
    xs, engine, better = sweep["xs"], sweep["errors"]["engine"], sweep["better"]["errors"]
    torch = sweep["errors"]["torch"]
    large = [i for i, x in enumerate(xs) if abs(x) > 20]
    assert large and all(engine[i] == 1.0 and torch[i] == 1.0 for i in large)  # 1 - tanh**2 is exactly 0
    assert max(better) < 1e-14  # sech**2 keeps full accuracy
    mid = [i for i, x in enumerate(xs) if 8 < abs(x) < 15]
    assert all(engine[i] > 1e-12 for i in mid)  # relative accuracy drains away before it is gone


def test_division_sweep_never_squares_y():
    sweep = study_op("div").sweep
    huge = [i for i, y in enumerate(sweep["xs"]) if 1e155 < y < 1e300]
    # -z/y (engine), (x/y)/y (torch) and SymPy's code, which computes y**-2 in one pow: no y*y to overflow
    assert huge and all(sweep["errors"][b][i] < 1e-15 for b in ("engine", "torch", "sympy") for i in huge)


def test_step_study_draws_the_v():
    steps = study_op("sin").steps
    central = steps["curves"]["fd-central"]
    errors = [e for e in central["errors"] if not math.isnan(e)]
    best = min(errors)
    assert errors[0] > 1000 * best and errors[-1] > 1000 * best  # round-off on the left, truncation on the right
    assert max(steps["curves"]["fd-complex-step"]["errors"][:40]) < 1e-15  # flat for tiny steps


def test_pages_are_written(tmp_path):
    paths = write_study(["tanh", "relu"], tmp_path)
    for op in ("tanh", "relu"):
        text = (tmp_path / "ops" / f"{op}.md").read_text()
        assert "## 1. Rules side by side" in text and "## 4. Finite-difference steps" in text
        assert (tmp_path / "ops" / f"{op}.png").read_bytes()[:4] == b"\x89PNG"
    assert "relu'(0) = 0" in (tmp_path / "ops" / "relu.md").read_text() or "step(x)" in \
        (tmp_path / "ops" / "relu.md").read_text()
    assert len(paths) == 2
