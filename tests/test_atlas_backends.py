"""The atlas systems (jax, HIPS autograd, mygrad, tinygrad): planted bugs caught, the corpus judged."""
import json
import math
from pathlib import Path

import pytest

from reference.backends import make_backends
from reference.corpus.cases import CORPUS, case
from reference.running.harness import run_case

SYSTEMS = ("jax", "autograd", "mygrad", "tinygrad")
REPORTS = Path(__file__).resolve().parent.parent / "reports"
TANH_CASE = case("tanh(x*y)+x", lambda m, x, y: m.tanh(x * y) + x, [(0.5, -1.2)])


def _records(name: str, c=TANH_CASE, order: int = 2) -> dict[int, dict]:
    records = run_case(c, make_backends([name]), order=order)
    return {r.get("order", 1): r for r in records}


# -- a planted wrong answer: tanh's value unchanged, its slope +0.01 and its curvature +0.02 -----------------
def _plant_jax(monkeypatch):
    import jax
    original = jax.numpy.tanh

    def tanh(x):
        d = x - jax.lax.stop_gradient(x)  # 0 in value, slope 1: tanh's derivatives move, its value does not
        return original(x) + 0.01 * d + 0.01 * d * d
    monkeypatch.setattr(jax.numpy, "tanh", tanh)


def _plant_autograd(monkeypatch):
    import autograd.numpy
    from autograd.tracer import getval
    original = autograd.numpy.tanh

    def tanh(x):
        d = x - getval(x)
        return original(x) + 0.01 * d + 0.01 * d * d
    monkeypatch.setattr(autograd.numpy, "tanh", tanh)


def _plant_mygrad(monkeypatch):
    import mygrad
    original = mygrad.tanh

    def tanh(x):
        d = x - mygrad.tensor(x.data)
        return original(x) + 0.01 * d + 0.01 * d * d
    monkeypatch.setattr(mygrad, "tanh", tanh)


def _plant_tinygrad(monkeypatch):
    from tinygrad import Tensor
    original = Tensor.tanh

    def tanh(self):
        d = self - self.detach()
        return original(self) + 0.01 * d + 0.01 * d * d
    monkeypatch.setattr(Tensor, "tanh", tanh)


PLANTS = {"jax": _plant_jax, "autograd": _plant_autograd, "mygrad": _plant_mygrad, "tinygrad": _plant_tinygrad}


@pytest.mark.parametrize("name", SYSTEMS)
def test_each_system_agrees_before_the_plant(name):
    by_order = _records(name)
    assert by_order[1]["verdict"] == "agree", by_order[1]["note"]
    if name == "mygrad":
        assert by_order[2]["verdict"] == "unsupported" and "second order" in by_order[2]["note"]
    else:
        assert by_order[2]["verdict"] == "agree", by_order[2]["note"]


@pytest.mark.parametrize("name", SYSTEMS)
def test_a_planted_wrong_derivative_is_caught_at_first_and_second_order(name, monkeypatch):
    make_backends([name])  # import the system before planting into it
    PLANTS[name](monkeypatch)
    by_order = _records(name)
    first = by_order[1]
    assert first["verdict"] == "mismatch", first
    assert math.isclose(first["value"], first["oracle_value"], rel_tol=1e-14)  # the value is untouched
    assert abs(first["grad"]["x"] - first["oracle_grad"]["x"] - 0.01 * -1.2) < 1e-12
    second = by_order[2]
    if name == "mygrad":  # mygrad has no second order: said, not guessed
        assert second["verdict"] == "unsupported"
        return
    assert second["verdict"] == "mismatch", second
    h, o = second["hessian"], second["oracle_hessian"]
    assert abs(h["x"]["x"] - o["x"]["x"] - 0.02 * 1.2 ** 2) < 1e-9
    assert abs(h["y"]["y"] - o["y"]["y"] - 0.02 * 0.5 ** 2) < 1e-9


# -- the corpus through each system --------------------------------------------------------------------
def _findings() -> list[dict]:
    return json.loads((REPORTS / "atlas.json").read_text(encoding="utf-8"))["findings"]


def _explained(r: dict, c, findings: list[dict]) -> bool:
    """A record off the oracle is a listed finding: the same op and point in the atlas (a primitive case),
    or, in a composite, an op of the case that the atlas lists a finding of for this system and order."""
    from reference.output.atlas import CORPUS_FINDINGS
    if (r["backend"], c.name) in CORPUS_FINDINGS:
        return True
    order = r.get("order", 1)
    mine = [f for f in findings if f["system"] == r["backend"] and f["order"] == order]
    if "primitive" in c.tags:
        values = [float(v) for v in r["point"].values()]
        return any(f["op"] in c.ops and f["point"] == values for f in mine)
    return any(f["op"] in c.ops for f in mine)


SMALL = [c for c in CORPUS if not {"mlp", "deep"} & set(c.tags) and c.name != "sum_of_sigmoids"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SYSTEMS)
def test_the_corpus_through_each_system_is_right_or_a_listed_finding(name):
    """Every record of the whole corpus, at first and second order, agrees, is a declared convention or an
    undefined point, or is a finding the atlas lists (tinygrad's Hessians of the deep and MLP cases are left
    out, their first order kept: it compiles each of those Hessians for minutes)."""
    findings = _findings()
    backends = make_backends([name])
    unexplained = []
    for c in CORPUS:
        order = 1 if name == "tinygrad" and c not in SMALL else 2
        for r in run_case(c, backends, order=order):
            if r["verdict"] in ("agree", "convention", "undefined", "unsupported"):
                continue
            if not _explained(r, c, findings):
                unexplained.append((c.name, r["point"], r.get("order", 1), r["verdict"], r["note"][:120]))
    assert not unexplained, unexplained


@pytest.mark.parametrize("name", SYSTEMS)
def test_the_primitive_cases_through_each_system_are_right_or_listed(name):
    """The quick version of the corpus check: every primitive case at first order."""
    findings = _findings()
    backends = make_backends([name])
    for c in [c for c in CORPUS if "primitive" in c.tags]:
        for r in run_case(c, backends, order=1):
            assert r["verdict"] in ("agree", "convention", "undefined", "unsupported") or _explained(r, c, findings), \
                (c.name, r["point"], r["verdict"], r["note"])


def test_an_op_a_system_lacks_is_unsupported_with_the_reason():
    result = make_backends(["autograd"])[0].evaluate(case("relu", lambda m, x: m.relu(x), []), (0.5,))
    assert result.status == "unsupported" and "np.maximum" in result.message
    result = make_backends(["tinygrad"])[0].evaluate(case("log1p", lambda m, x: m.log1p(x), []), (0.5,))
    assert result.status == "unsupported" and "log1p" in result.message


def test_tinygrad_without_clang_is_unsupported_in_one_line(monkeypatch):
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "clang" else real(cmd, *a, **k))
    backend = make_backends(["tinygrad"])[0]
    result = backend.evaluate(TANH_CASE, (0.5, -1.2))
    assert result.status == "unsupported" and "clang" in result.message and "\n" not in result.message


def test_list_backends_shows_versions_without_importing_the_systems(capsys):
    import subprocess
    import sys
    code = ("import sys; from reference.cli import main; main(['list', 'backends']); "
            "print(sorted(m for m in ('jax', 'torch', 'tinygrad', 'mygrad', 'autograd') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    lines = out.splitlines()
    assert lines[-1] == "[]"
    for name in SYSTEMS:
        line = next(x for x in lines if x.split()[0] == name)
        assert "." in line.split()[-1] or "missing" in line


def test_check_json_reports_each_systems_gradient_and_hessian():
    from reference.cli import check_result
    doc = check_result("tanh(x*y) + x**2", {"x": 0.5, "y": -1.2}, SYSTEMS, order=2)
    for name in SYSTEMS:
        entry = doc["backends"][name]
        assert entry["verdict"] == "agree" and set(entry["grad"]) == {"x", "y"}
        if name == "mygrad":
            assert entry["hessian_verdict"] == "unsupported"
        else:
            assert entry["hessian_verdict"] == "agree" and set(entry["hessian"]["x"]) == {"x", "y"}


# -- the atlas ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_committed_atlas_is_current(tmp_path):
    from reference.output.atlas import write_atlas
    write_atlas(tmp_path, order=2)
    for name in ("atlas.md", "atlas.json", "atlas.svg"):
        stale = f"reports/{name} is stale: run adcheck atlas"
        assert (tmp_path / name).read_bytes() == (REPORTS / name).read_bytes(), stale


def test_the_atlas_lists_the_issues_examples():
    """The five differences the issue saw in five minutes are in the committed atlas, judged."""
    doc = json.loads((REPORTS / "atlas.json").read_text(encoding="utf-8"))
    found = {(f["system"], f["op"], tuple(f["point"]), f["order"]) for f in doc["findings"]}
    assert ("jax", "powc", (0.0,), 1) in found  # x**0.0 at 0: nan where the slope is 0
    assert ("autograd", "sqrt", (0.0,), 1) in found  # ZeroDivisionError on a Python float
    assert ("mygrad", "maximum", (1.5, 1.5), 1) in found  # (0, 0) at a tie: no subgradient
    abs0 = next(p for op in doc["ops"] if op["op"] == "abs" for p in op["points"] if p["point"] == {"x": 0.0})
    assert abs0["cells"]["jax"]["grad"] == [1.0] and abs0["cells"]["jax"]["verdict"] == "convention"
    assert abs0["cells"]["autograd"]["grad"] == [0.0]
    tanh20 = next(p for op in doc["ops"] if op["op"] == "tanh" for p in op["points"] if p["point"] == {"x": 20.0})
    assert tanh20["cells"]["autograd"]["grad"][0] > 0  # g / cosh(x)**2 keeps the true 1.7e-17
