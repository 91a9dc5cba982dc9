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
    assert set(first) == {"conformance.md", "conformance.json"}
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
