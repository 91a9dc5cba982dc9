"""`adcheck run --engine` on every learner-style engine of tests/learner_engines: exit status and blamed ops."""
import json
import os
import sys

import pytest

from reference.cli import main

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "learner_engines")
sys.path.insert(0, HERE)
try:
    from MANIFEST import ENGINES, path
finally:
    sys.path.remove(HERE)

XFAIL: dict[str, str] = {}  # stem -> why, for a known gap (none today)


@pytest.mark.parametrize("stem", list(ENGINES))
def test_learner_engine(stem, tmp_path, capsys):
    if stem in XFAIL:
        pytest.xfail(XFAIL[stem])
    e = ENGINES[stem]
    status = main(["run", "--engine", f"{path(stem)}:{e['class']}", *e["options"], "--only", "op:tanh",
                   "--backends", "engine", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"conformance.md", "conformance.json"}
    doc = json.loads((tmp_path / "conformance.json").read_text())
    diagnosis = doc["diagnosis"]
    blamed = {d["op"] for d in diagnosis if d["op"] and d["kind"] not in ("precision", "convention")}
    assert status == e["exit"], diagnosis
    assert blamed == set(e["bug_ops"]), diagnosis
    # no failure without a diagnosis, no pass with a bug found
    assert not (status == 1 and not diagnosis), "exit 1 with an empty diagnosis"
    assert not (status == 0 and {d["kind"] for d in diagnosis} & {"api", "rule", "forward"}), diagnosis
    if e["bug_kind"]:
        kinds = {d["kind"] for d in diagnosis}
        assert {e["bug_kind"], *e.get("alt_kinds", [])} & kinds, diagnosis
    assert doc["subject"]["class"] == e["class"] and doc["subject"]["file"] == path(stem)
    if e["lacks"] is not None:
        assert set(e["lacks"]) <= set(doc["subject"]["lacks"])
    assert "Traceback" not in capsys.readouterr().err


CONTROLS = [stem for stem, e in ENGINES.items() if e["correct"]]


@pytest.mark.parametrize("stem", CONTROLS)
def test_a_correct_engine_is_not_blamed_anywhere_in_the_corpus(stem, tmp_path, capsys):
    """The whole corpus (every op, every edge, the MLPs) on each correct control: no false alarm."""
    e = ENGINES[stem]
    status = main(["run", "--engine", f"{path(stem)}:{e['class']}", *e["options"], "--backends", "engine",
                   "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "conformance.json").read_text())
    failing = [(r["case"], r["point"], r["verdict"], r["note"]) for r in doc["records"]
               if r["backend"] == "engine" and r["verdict"] in ("mismatch", "unjudged")]
    assert status == 0 and not failing, failing
    assert not {d["kind"] for d in doc["diagnosis"]} & {"api", "rule", "forward", "raises", "graph"}, doc["diagnosis"]
    assert doc["subject"]["coverage"]["records_run"] > 100, doc["subject"]["coverage"]


def test_the_slip_formula_is_named():
    """The tanh-from-input engine's finding says what the rule computes instead (issue 21)."""
    import tempfile
    e = ENGINES["bug_tanh_input"]
    with tempfile.TemporaryDirectory() as out:
        main(["run", "--engine", f"{path('bug_tanh_input')}:{e['class']}", "--only", "op:tanh", "--backends",
              "engine", "--out", out])
        with open(os.path.join(out, "conformance.json")) as f:
            doc = json.load(f)
    summaries = [d["summary"] for d in doc["diagnosis"] if d["op"] == "tanh"]
    assert any("looks like 1.0 - x**2" in s or "looks like 1 - x**2" in s for s in summaries), summaries


FULL_CORPUS = ["bug_rpow_wrong", "bug_rsub_no_neg", "bug_exp_clamp", "bug_log_eps", "bug_add_assign_sub_built",
               "bug_returns_none"]


@pytest.mark.parametrize("stem", FULL_CORPUS)
def test_every_failing_record_is_explained_by_a_finding_naming_its_op(stem, tmp_path):
    """The whole corpus: each failing case uses an op the diagnosis names (or the walk is blamed)."""
    from reference.corpus.cases import by_name
    e = ENGINES[stem]
    status = main(["run", "--engine", f"{path(stem)}:{e['class']}", *e["options"], "--backends", "engine",
                   "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "conformance.json").read_text())
    blamed = {d["op"] for d in doc["diagnosis"] if d["op"]}
    walk = any(d["kind"] == "graph" and not d["op"] for d in doc["diagnosis"])
    failing = {r["case"] for r in doc["records"] if r["backend"] == "engine"
               and r["verdict"] in ("mismatch", "unjudged") and not r.get("expected")}
    assert status == e["exit"] and blamed == set(e["bug_ops"]), doc["diagnosis"]
    built = {op for op, inner in doc["subject"]["built_from"].items() if set(inner) & blamed}  # sub as add + neg
    unexplained = [c for c in failing if not walk and not (by_name(c).ops & (blamed | built))]
    assert not unexplained, (unexplained, doc["diagnosis"])
