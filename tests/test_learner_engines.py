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
    assert doc["subject"]["coverage"]["records_run"] > 100, doc["subject"]["coverage"]
