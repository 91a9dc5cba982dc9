"""The adcheck command: exit codes, JSON, one-line errors, atomic reports."""
import json
import subprocess
import sys

import pytest

from reference.cli import main


def adcheck(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "reference", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_check_table_and_exit_zero(capsys):
    assert main(["check", "tanh(x*y) + x**2", "--at", "x=0.5,y=-1.2"]) == 0
    out = capsys.readouterr().out
    for name in ("oracle", "engine", "torch", "sympy", "fd-central", "fd-complex-step", "verdict: agree"):
        assert name in out


def test_check_json_has_the_stable_keys(capsys):
    assert main(["check", "relu(x) + log(y)", "--at", "x=0,y=0", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"expression", "point", "oracle", "backends", "verdict"}
    assert doc["point"] == {"x": 0.0, "y": 0.0}
    assert doc["oracle"]["value"] == "nan" or doc["oracle"]["value"] == "-inf"
    engine = doc["backends"]["engine"]
    assert engine["status"] == "ok" and engine["grad"]["y"] == "inf"
    assert {b["status"] for b in doc["backends"].values()} <= {"ok", "unsupported", "error"}


def test_check_finds_a_wrong_engine_and_exits_one(tmp_path):
    (tmp_path / "bad_engine.py").write_text(
        "class V:\n"
        "    def __init__(self, d, c=()):\n"
        "        self.data, self.grad, self.c = float(d), 0.0, c\n"
        "    def __mul__(self, o):\n"
        "        o = o if isinstance(o, V) else V(o)\n"
        "        return V(self.data * o.data, (self, o))\n"
        "    __rmul__ = __mul__\n"
        "    def backward(self):\n"
        "        a, b = self.c\n"
        "        a.grad += a.data\n"  # wrong: should be b.data
        "        b.grad += b.data\n")
    done = adcheck("check", "x*y", "--at", "x=2,y=3", "--engine", "bad_engine:V", "--backends", "engine,torch",
                   cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "mismatch" in done.stdout


@pytest.mark.parametrize("args", [
    ["check", "x.__class__", "--at", "x=1"],
    ["check", "x+", "--at", "x=1"],
    ["check", "x+y", "--at", "x=1"],
    ["check", "x", "--at", "x=abc"],
    ["check", "x", "--at", "x=1", "--backends", "nope"],
    ["check", "x", "--at", "x=1", "--engine", "no_such_module:V"],
    ["run", "--only", "no-such-case-or-tag"],
    ["run", "--workers", "0"],
    ["graph", "x*y", "--at", "x=1,y=2", "-o", "out.txt"],
    ["check"],
    ["frobnicate"],
])
def test_bad_input_is_one_line_and_exit_two(args, tmp_path):
    done = adcheck(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip()


def test_run_writes_both_files_and_is_deterministic(tmp_path):
    args = ["run", "--only", "op:sigmoid", "--backends", "engine,torch,fd-central", "--out", str(tmp_path)]
    assert main(args) == 0
    first = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert set(first) >= {"conformance.md", "conformance.json"}
    assert main(args + ["--workers", "2"]) == 0
    assert first == {p.name: p.read_text() for p in tmp_path.iterdir()}


def test_run_against_micrograd_says_what_it_lacks(tmp_path, capsys):
    assert main(["run", "--only", "seed", "--engine", "micrograd.engine:Value", "--backends", "engine,torch",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lacks" in out and "tanh" in out
    doc = json.loads((tmp_path / "conformance.json").read_text())
    assert doc["meta"]["engine"] == "micrograd.engine.Value"
    assert any(r["verdict"] == "unsupported" for r in doc["records"])


def test_graph_writes_svg(tmp_path):
    out = tmp_path / "g.svg"
    assert main(["graph", "tanh(x1*w1 + x2*w2 + b)", "--at", "x1=2,w1=-3,x2=0,w2=1,b=6.8813735870195432",
                 "-o", str(out)]) == 0
    text = out.read_text()
    assert "<svg" in text and "tanh" in text and "grad" in text


def test_module_and_console_script_agree():
    done = adcheck("--version")
    assert done.returncode == 0 and done.stdout.startswith("adcheck ")


# -- the command line as a learner meets it ------------------------------------------------------
LEARNERS = __import__("pathlib").Path(__file__).resolve().parent / "learner_engines"


def _fresh(code: str):
    """Run code in a fresh interpreter; its last line printed is which heavy modules it imported."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args", [
    ["check", "x", "--at", "x=abc"],             # a typo in --at
    ["check", "x+", "--at", "x=1"],              # a bad expression
    ["check", "__import__('os')", "--at", "x=1"],
    ["check", "x", "--at", "x=1", "--frobnicate"],  # an unknown option
    ["check", "x", "--at", "x=1", "--backends", "nope"],
    ["check", "x", "--at", "x=1", "--budget", "nan"],
    ["check", "x", "--at", "x=1", "--engine", "no_such_module:V"],
    ["run", "--only", "no-such-case-or-tag"],
    ["fuzz", "--count", "0"],
    ["graph", "x*y", "--at", "x=1,y=2", "-o", "out.txt"],
])
def test_bad_input_is_answered_before_torch_and_sympy_load(args, tmp_path):
    code = (f"import sys, os; os.chdir({str(tmp_path)!r}); from reference.cli import main; rc = main({args!r}); "
            "print(rc, sorted(m for m in ('torch', 'sympy') if m in sys.modules))")
    done = _fresh(code)
    assert done.stdout.strip().splitlines()[-1] == "2 []", done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_graph_needs_neither_torch_nor_sympy(tmp_path):
    out = tmp_path / "g.dot"
    code = ("import sys; from reference.cli import main; "
            f"rc = main(['graph', 'tanh(x*y) + x**2', '--at', 'x=0.5,y=-1.2', '-o', {str(out)!r}]); "
            "print(rc, sorted(m for m in ('torch', 'sympy') if m in sys.modules))")
    done = _fresh(code)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout + done.stderr
    assert "tanh" in out.read_text()


def test_an_expression_may_start_with_a_minus(capsys):
    assert main(["check", "-x", "--at", "x=1", "--backends", "engine,torch", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["expression"] == "-x" and doc["backends"]["engine"]["grad"] == {"x": -1.0}
    assert main(["check", "--at", "x=2", "-x*x", "--backends", "engine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["oracle"]["grad"] == {"x": -4.0}


def test_no_command_prints_help_and_exits_two(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


@pytest.mark.parametrize("budget", ["nan", "inf", "-inf", "-1", "0", "1e300", "soon"])
def test_budget_is_seconds_and_validated(budget, capsys):
    assert main(["check", "x", "--at", "x=1", "--budget", budget]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--budget" in err


def test_fuzz_counts_with_count_and_explains_the_old_budget(capsys):
    assert main(["fuzz", "--budget", "20"]) == 2
    assert "--count" in capsys.readouterr().err


def test_list_prints_one_name_per_line(capsys):
    from autodiff import RULES
    from reference.backends import BACKENDS
    from reference.corpus.cases import CORPUS
    from reference.cli import BACKEND_NAMES
    assert BACKEND_NAMES == tuple(BACKENDS)
    expected = {"cases": [c.name for c in CORPUS], "tags": sorted({t for c in CORPUS for t in c.all_tags}),
                "ops": list(RULES), "backends": list(BACKENDS)}
    for what, names in expected.items():
        assert main(["list", what]) == 0
        lines = capsys.readouterr().out.splitlines()
        if what == "backends":  # the atlas systems carry their version (or why they are missing) after the name
            lines = [line.split()[0] for line in lines]
        assert lines == names
    assert "primitive" in expected["tags"] and "op:tanh" in expected["tags"]


def test_backends_help_lists_the_names(capsys):
    with pytest.raises(SystemExit):
        from reference.cli import build_parser
        build_parser().parse_args(["check", "--help"])
    assert "fd-complex-step" in capsys.readouterr().out


def test_check_json_into_a_closed_pipe_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait()
    done = subprocess.run([sys.executable, "-m", "reference", "check", "tanh(x*y)", "--at", "x=0.5,y=1", "--json",
                           "--backends", "engine"], stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=300)
    reader.stdin.close()
    assert done.stderr == "", done.stderr
    assert done.returncode in (0, 141)


def test_check_order_two_carries_hessians(capsys):
    assert main(["check", "x**3*y", "--at", "x=0.5,y=-1.2", "--order", "2", "--backends", "engine,torch",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["oracle"]["hessian"]["x"]["y"] == 0.75 and doc["oracle"]["hessian"]["x"]["x"] == pytest.approx(-3.6)
    for name in ("engine", "torch"):
        assert doc["backends"][name]["hessian"]["y"]["x"] == 0.75
        assert doc["backends"][name]["hessian_verdict"] == "agree"
    assert main(["check", "x**3*y", "--at", "x=0.5,y=-1.2", "--order", "2", "--backends", "engine"]) == 0
    assert "Hessian" in capsys.readouterr().out


def test_run_order_two_and_scheduler(tmp_path, capsys):
    args = ["run", "--only", "op:sigmoid", "--backends", "engine,torch", "--out", str(tmp_path), "--order", "2"]
    assert main(args) == 0
    doc = json.loads((tmp_path / "conformance.json").read_text())
    assert any(r.get("order") == 2 for r in doc["records"])
    # no scheduler at the address: one line, exit 2, before any work
    capsys.readouterr()
    assert main(["run", "--only", "op:sigmoid", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Dask scheduler" in err


def test_graph_of_a_learner_engine_marks_the_wrong_nodes(tmp_path):
    right, wrong = tmp_path / "right.dot", tmp_path / "wrong.dot"
    expr, at = "tanh(x*y) + x**2", "x=0.5,y=-1.2"
    done = adcheck("graph", expr, "--at", at, "-o", str(right), "--engine", f"{LEARNERS}/correct_lecture.py:Value")
    assert done.returncode == 0, done.stderr
    text = right.read_text()
    assert "(true " in text and "#d62728" not in text and "tanh" in text
    done = adcheck("graph", expr, "--at", at, "-o", str(wrong), "--engine", f"{LEARNERS}/bug_tanh_input.py:Value")
    assert done.returncode == 1, done.stderr
    assert "#d62728" in wrong.read_text()
    assert "feeds one tanh node" in done.stdout


def test_fuzz_with_an_engine_counts_what_it_ran_and_reproduces_with_the_engine(tmp_path):
    from reference.tools.fuzz import render
    result = {"count": 3, "seed": 0, "engine": "e.py:V", "engine_options": "--engine /x/e.py:V --grad-attr grade",
              "checked": 3, "ran": 2, "scheduler": "", "seconds": 1.0,
              "findings": [{"index": 1, "expression": "-x*y", "minimal": "-x", "point": {"x": 1.0},
                            "backends": ["engine"], "records": [{"backend": "engine", "grad": {"x": 1.0},
                                                                 "oracle_grad": {"x": -1.0}, "note": "off"}]}]}
    text = render(result)
    assert "the engine really ran 2" in text
    assert "adcheck check '-x' --at x=1.0 --engine /x/e.py:V --grad-attr grade" in text


def test_fuzz_on_a_dask_cluster_gives_the_local_results(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    from reference.tools.fuzz import fuzz
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        remote = fuzz(6, seed=3, scheduler=cluster.scheduler_address)
        assert main(["fuzz", "--count", "3", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path)]) == 0
    local = fuzz(6, seed=3)
    assert remote["findings"] == local["findings"] and remote["checked"] == local["checked"] > 0
    assert "on the Dask cluster at " in (tmp_path / "fuzz.md").read_text()


def test_fuzz_scheduler_that_is_not_there_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert main(["fuzz", "--count", "1", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Dask scheduler" in err
