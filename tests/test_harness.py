"""The conformance harness: verdicts, the negative control, determinism, the committed report."""
import json
import time
from pathlib import Path

import pytest
from planted import BUGS, planted

from reference.backends import EngineBackend, make_backends
from reference.corpus.cases import CORPUS, by_name, case, make_point, select
from reference.running.harness import run, run_case, summarize

REPORTS = Path(__file__).resolve().parent.parent / "reports"
CHAIN_RULE = ("engine", "torch", "sympy")


def _verdicts(records, backend):
    return {(r["case"], tuple(r["point"].values())): r["verdict"] for r in records if r["backend"] == backend}


def test_every_case_agrees_across_engine_torch_and_sympy_at_smooth_points(corpus_records):
    from reference.judging.judge import PointGraph
    edges = {(c.name, tuple(p.values)) for c in CORPUS for p in c.points
             if p.edge or p.known or PointGraph(c, p.values).edges or PointGraph(c, p.values).nonfinite}
    for r in corpus_records:
        key = (r["case"], tuple(float(v) for v in r["point"].values()))
        if r["backend"] in CHAIN_RULE and key not in edges:
            assert r["verdict"] == "agree", r


def test_no_unexpected_mismatch_in_the_corpus(corpus_records):
    assert summarize(corpus_records)["unexpected"] == []


def test_conventions_undefined_and_known_limitations_are_told_apart(corpus_records):
    engine = _verdicts(corpus_records, "engine")
    assert engine[("relu", (0.0,))] == "convention"
    assert engine[("log", (0.0,))] == "agree"  # -inf and inf, as the oracle: the same infinities
    assert engine[("pow", (0.0, 2.0))] == "convention"
    known = [r for r in corpus_records if r["verdict"] == "mismatch"]
    assert known and all(r["expected"] and r["note"] for r in known)
    # only references are ever off, each for a stated reason (torch's softplus threshold among them)
    assert {r["backend"] for r in known} <= {"torch", "sympy", "fd-forward", "fd-central", "fd-five-point",
                                             "fd-richardson", "fd-complex-step"}


def test_an_undeclared_disagreement_is_a_mismatch():
    # relu at 0: any valid subgradient (in [0, 1]) is a convention; relu'(0) = 2 is no subgradient.
    class Relu1:
        def __init__(self, data):
            self.data, self.grad = float(data), 0.0

        def relu(self):
            out = Relu1(max(self.data, 0.0))
            out._src = self
            return out

        def backward(self):
            self._src.grad += 2.0
    c = case("relu-at-kink", lambda m, x: m.relu(x), [make_point(0.0)])
    (record,) = run_case(c, [EngineBackend(Relu1, name="custom")])
    assert record["verdict"] == "mismatch"


@pytest.mark.parametrize("bug", BUGS)
def test_negative_control_planted_bugs_are_caught(bug):
    cases = [by_name(n) for n in ("cos", "tanh_neuron", "reused_subexpression", "micrograd_sanity", "x**x")]
    with planted(bug) as value_class:
        records = [r for c in cases for r in run_case(c, [EngineBackend(value_class)])]
    mismatched = {r["case"] for r in records if r["verdict"] == "mismatch" and not r["expected"]}
    assert mismatched, f"planted bug {bug!r} went unnoticed"
    expected = {"flipped-sign": {"cos"}, "missing-chain-factor": {"tanh_neuron", "micrograd_sanity"},
                "overwrite-not-accumulate": {"reused_subexpression", "x**x"}}[bug]
    assert expected <= mismatched


def test_the_real_engine_passes_the_same_control():
    records = [r for n in ("cos", "tanh_neuron", "reused_subexpression", "micrograd_sanity", "x**x")
               for r in run_case(by_name(n), make_backends(["engine"]))]
    assert {r["verdict"] for r in records} <= {"agree"}


def test_workers_give_the_same_records_as_one_process():
    cases = select("op:tanh")
    one = [r for batch in run(cases, ["engine", "torch", "fd-central"]) for r in batch]
    two = [r for batch in run(cases, ["engine", "torch", "fd-central"], workers=2) for r in batch]
    assert json.dumps(one) == json.dumps(two)


def test_sympy_past_its_cpu_budget_is_cut_and_reported(monkeypatch):
    from reference.oracle import exact
    from reference.oracle import store as oracle

    def spin(*args, **kwargs):  # a derivation that never ends, burning CPU as SymPy would
        while True:
            oracle.deadline()
    monkeypatch.setattr(oracle, "exact", spin)
    monkeypatch.setattr(exact, "derive", spin, raising=False)
    start = time.perf_counter()
    records = run_case(case("slow", lambda m, x: m.exp(x), [1.0]), make_backends(["engine", "sympy"]), budget=0.5)
    assert time.perf_counter() - start < 5
    assert all("budget" in (r["note"] + r["message"]) for r in records), records
    # no oracle: nothing was judged, and for the subject that is a failure (never agree or unsupported)
    assert [r["verdict"] for r in records] == ["unjudged", "error"]


def test_committed_report_is_the_output_of_the_current_code(report_records):
    """reports/ must be regenerated (make report) whenever the code changes what it says."""
    committed = json.loads((REPORTS / "conformance.json").read_text())
    from reference.output.report import json_safe
    assert committed["records"] == json.loads(json.dumps(json_safe(report_records), allow_nan=False)), \
        "reports/conformance.json is stale: run `make report` and commit reports/"
    from reference.output.report import conformance_markdown
    assert conformance_markdown(summarize(report_records), committed["meta"]) == \
        (REPORTS / "conformance.md").read_text(), "reports/conformance.md is stale: run `make report`"


def test_edges_in_ad_hoc_expressions_are_found_from_the_engine_graph():
    from reference.corpus.parser import to_case
    backends = make_backends(["engine", "torch", "sympy", "fd-central"])
    single = run_case(to_case("x**y", {"x": 0.0, "y": 2.0}), backends)
    # every backend follows its declared convention at pow@x=0 (SymPy's nan is its declared one)
    assert {r["backend"]: r["verdict"] for r in single} == {
        "engine": "convention", "torch": "convention", "sympy": "convention", "fd-central": "convention"}
    composite = run_case(to_case("x**y + sin(x)", {"x": 0.0, "y": 2.0}), backends)
    assert {r["verdict"] for r in composite} == {"convention"}
    # ... and the number must be what the chain rule gives with that convention (d/dx = cos(0) = 1)
    assert [r["grad"] for r in composite if r["backend"] == "engine"] == [{"x": 1.0, "y": 0.0}]
    # an edge does not excuse a wrong finite answer where the oracle is finite
    wrong = case("wrong", lambda m, x: m.sqrt(x) * 0 + x, [make_point(4.0)])
    assert case("c", lambda m, x: m.log(x), [make_point(0.0)]).edge_at((0.0,)) == "log@0"
    assert wrong.edge_at((4.0,)) == ""



def test_ill_conditioned_float_program_widens_the_tolerance_but_not_past_a_bug():
    from reference.corpus.parser import to_case
    c = to_case("1 - tanh(x)**2", {"x": 8.0})
    good = run_case(c, make_backends(["engine", "torch"]))
    assert {r["verdict"] for r in good} == {"agree"} and "float64" in good[0]["note"]
    assert good[0]["tolerances"]["x"] > 1e-10 * abs(good[0]["oracle_grad"]["x"])
    # the planted bug drops the upstream factor of a second input: put one (2) above the cancellation
    with planted("missing-chain-factor") as value_class:
        (bad,) = run_case(to_case("3 * (1 - tanh(x)**2) * 2", {"x": 8.0}), [EngineBackend(value_class)])
    assert bad["verdict"] == "mismatch"


def test_the_report_pair_is_replaced_together_and_leftovers_are_cleaned(tmp_path):
    import os

    from reference.core.files import _COMMIT, write_pair
    write_pair(tmp_path, {"a.json": "old", "a.md": "old"})
    # a run killed after committing, between the two renames: the next write finishes it first
    (tmp_path / ".a.json.x.adcheck.tmp").write_text("new")
    (tmp_path / ".a.md.y.adcheck.tmp").write_text("new")
    (tmp_path / _COMMIT).write_text(json.dumps({".a.json.x.adcheck.tmp": "a.json", ".a.md.y.adcheck.tmp": "a.md"}))
    os.replace(tmp_path / ".a.json.x.adcheck.tmp", tmp_path / "a.json")  # killed here
    (tmp_path / ".stale.adcheck.tmp").write_text("junk")  # a write killed before its commit
    write_pair(tmp_path, {"b.txt": "x"})
    assert (tmp_path / "a.json").read_text() == (tmp_path / "a.md").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.md", "b.txt"]
    old = os.umask(0o022)
    try:
        write_pair(tmp_path, {"c.md": "x"})
    finally:
        os.umask(old)
    assert (tmp_path / "c.md").stat().st_mode & 0o777 == 0o644


def test_workers_stop_when_the_main_process_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    script = ("import os, sys\nfrom reference.running.harness import run\nfrom reference.corpus.cases import CORPUS\n"
              "for batch in run(CORPUS, ['engine', 'sympy'], workers=2):\n    print(os.getpid(), flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the pool is running
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert children
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{c}") and
                                         "Z" not in open(f"/proc/{c}/stat").read().split()[2] for c in children):
        time.sleep(0.2)
    assert not any(os.path.exists(f"/proc/{c}") and "Z" not in open(f"/proc/{c}/stat").read().split()[2]
                   for c in children)


NO_AVX512 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "ATEN_CPU_CAPABILITY": "avx2"}


def test_committed_report_is_reproduced_byte_for_byte_without_avx512(tmp_path):
    """`make report` on a CPU without AVX-512 (imitated: numpy's and torch's AVX-512 paths off) gives the
    committed files, byte for byte: float work goes through Python's scalar math, not vector paths."""
    import os
    import subprocess
    import sys
    env = {**os.environ, **NO_AVX512}
    done = subprocess.run([sys.executable, "-m", "reference", "run", "--workers", "2", "--order", "2",
                           "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    check = subprocess.run([sys.executable, "-c", "import numpy; numpy.show_runtime()"], env=env,
                           capture_output=True, text=True)
    assert "'not_found': ['X86_V4'" in check.stdout  # the imitation took effect
    for name in ("conformance.md", "conformance.json", "conformance.svg"):
        assert (tmp_path / name).read_bytes() == (REPORTS / name).read_bytes(), f"{name} differs without AVX-512"


def test_the_committed_report_reads_in_a_minute():
    """One screen first (verdict, coverage, findings, the picture), then details; no line wider than a forge shows."""
    text = (REPORTS / "conformance.md").read_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 200
    first_screen = "\n".join(lines[:16])
    for needle in ("**Verdict:", "**Coverage:**", "**Findings:**", "](conformance.svg)"):
        assert needle in first_screen, needle
    svg = (REPORTS / "conformance.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<rect") > 100
