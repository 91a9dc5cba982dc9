"""Isolation, adapters and exit statuses of `adcheck run/check --engine` on hostile or odd engines."""
import json
import subprocess
import sys
import textwrap

import pytest

from reference.cli import main

GOOD = textwrap.dedent("""
    import math
    class Value:
        def __init__(self, data, _children=()):
            self.data, self.grad, self._prev, self._backward = float(data), 0.0, tuple(_children), lambda: None
        def _w(self, o):
            return o if isinstance(o, Value) else Value(o)
        def __add__(self, o):
            o = self._w(o); out = Value(self.data + o.data, (self, o))
            def b():
                self.grad += out.grad; o.grad += out.grad
            out._backward = b; return out
        def __mul__(self, o):
            o = self._w(o); out = Value(self.data * o.data, (self, o))
            def b():
                self.grad += o.data * out.grad; o.grad += self.data * out.grad
            out._backward = b; return out
        __radd__, __rmul__ = __add__, __mul__
        def tanh(self):
            HOOK
            t = math.tanh(self.data); out = Value(t, (self,))
            def b():
                self.grad += (1 - t * t) * out.grad
            out._backward = b; return out
        def backward(self):
            topo, seen = [], set()
            def build(v):
                if v not in seen:
                    seen.add(v)
                    for c in v._prev: build(c)
                    topo.append(v)
            build(self); self.grad = 1.0
            for v in reversed(topo): v._backward()
""")


def engine(tmp_path, hook="pass", name="eng.py"):
    f = tmp_path / name
    f.write_text(GOOD.replace("HOOK", hook))
    return f"{f}:Value"


def run(tmp_path, spec, *extra):
    out = tmp_path / "out"
    status = main(["run", "--engine", spec, "--only", "op:tanh", "--backends", "engine", "--out", str(out),
                   "--engine-timeout", "2", *extra])
    return status, json.loads((out / "conformance.json").read_text())


def test_a_correct_engine_passes_and_is_named(tmp_path):
    status, doc = run(tmp_path, engine(tmp_path))
    assert status == 0
    assert doc["subject"]["class"] == "Value" and doc["subject"]["file"].endswith("eng.py")
    assert doc["subject"]["coverage"]["records_run"] > 0


@pytest.mark.parametrize("hook, kind", [
    ("import time; time.sleep(60) if self.data > 0.3 else None", "timeout"),
    ("import sys; sys.exit(0)", "crash"),
    ("import os; os._exit(7)", "crash"),
    ("import ctypes; ctypes.string_at(0)", "crash"),
    ("raise KeyboardInterrupt", "crash"),
])
def test_a_hostile_engine_becomes_a_finding_and_the_report_is_written(tmp_path, hook, kind):
    status, doc = run(tmp_path, engine(tmp_path, hook))
    assert status == 1
    assert any(d["kind"] == kind and d["op"] == "tanh" for d in doc["diagnosis"]), doc["diagnosis"]


def test_prints_do_not_reach_check_json(tmp_path):
    spec = engine(tmp_path, "print('hello from the engine'); import sys; print('err', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-m", "reference", "check", "tanh(x)*y", "--at", "x=0.5,y=2",
                           "--engine", spec, "--backends", "torch", "--json"], capture_output=True, text=True)
    doc = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert doc["backends"]["engine"]["status"] == "ok" and doc["subject"]["class"] == "Value"


def test_a_module_called_autodiff_is_the_learners(tmp_path):
    engine(tmp_path, "pass", name="autodiff.py")
    done = subprocess.run([sys.executable, "-m", "reference", "check", "tanh(x)", "--at", "x=0.5", "--engine",
                           "autodiff:Value", "--json"], capture_output=True, text=True, cwd=tmp_path)
    doc = json.loads(done.stdout)
    assert doc["subject"]["file"] == str(tmp_path / "autodiff.py")


@pytest.mark.parametrize("source", ["class Value:\n    pass\n",
                                    "class Value:\n    def __init__(self, d):\n        raise RuntimeError('no')\n"])
def test_an_engine_that_cannot_run_exits_three(tmp_path, source):
    (tmp_path / "e.py").write_text(source)
    status, doc = run(tmp_path, f"{tmp_path / 'e.py'}:Value")
    assert status == 3
    assert doc["diagnosis"][0]["kind"] == "api"


def test_missing_import_is_a_raise_at_an_ordinary_point(tmp_path):
    spec = engine(tmp_path).replace("eng.py", "eng.py")
    text = (tmp_path / "eng.py").read_text().replace("import math", "")
    (tmp_path / "eng.py").write_text(text)
    status, doc = run(tmp_path, spec)
    assert status == 1
    assert any(d["kind"] == "raises" and d["op"] == "tanh" and "NameError" in d["summary"] for d in doc["diagnosis"])


def test_engine_is_kept_when_only_torch_is_asked_for(tmp_path, capsys):
    _status, doc = run(tmp_path, engine(tmp_path), "--backends", "torch")
    assert "engine" in {r["backend"] for r in doc["records"]}
    assert "checked too" in capsys.readouterr().err


def test_bad_specs_exit_two(tmp_path):
    assert main(["run", "--engine", str(tmp_path / "nope.py") + ":Value"]) == 2
    assert main(["run", "--engine", engine(tmp_path).replace(":Value", ":Nope")]) == 2
    assert main(["run", "--grad-attr", "grade"]) == 2


def test_adding_a_registry_row_adds_a_probe(monkeypatch):
    from autodiff import rules
    from reference.subject import ops
    base = rules.RULES["tanh"]
    import dataclasses
    row = dataclasses.replace(base, name="tanh2") if dataclasses.is_dataclass(base) else None
    monkeypatch.setitem(rules.RULES, "tanh2", row)
    assert "tanh2" in ops.ops()


SPELLINGS = GOOD.replace("def tanh(self):", "def Tanh(self):") + textwrap.dedent("""
        def ReLU(self):
            out = Value(max(0.0, self.data), (self,))
            def b():
                self.grad += (self.data > 0) * out.grad
            out._backward = b; return out
        def __abs__(self):
            out = Value(abs(self.data), (self,))
            def b():
                self.grad += (1.0 if self.data > 0 else -1.0 if self.data < 0 else 0.0) * out.grad
            out._backward = b; return out
        def sigmod(self):
            s = 1 / (1 + math.exp(-self.data)); out = Value(s, (self,))
            def b():
                self.grad += s * (1 - s) * out.grad
            out._backward = b; return out
""").replace("\n", "\n    ").replace("\n    \n", "\n\n")


def test_methods_are_matched_as_learners_spell_them_and_near_misses_are_named(tmp_path):
    """Tanh and ReLU are tanh and relu, __abs__ is abs; `sigmod` is no op but is named, with how to map it."""
    f = tmp_path / "spell.py"
    f.write_text(SPELLINGS.replace("HOOK", "pass"))
    status, doc = run(tmp_path, f"{f}:Value")
    lacks = doc["subject"]["lacks"]
    assert status == 0, doc["diagnosis"]
    assert not {"tanh", "relu", "abs"} & set(lacks), lacks
    assert "sigmoid" in lacks
    assert any("sigmod" in n and "sigmoid" in n for n in doc["subject"]["notes"]), doc["subject"]["notes"]


RETURNS = textwrap.dedent("""
    def exp(self):
        out = Value(math.exp(self.data), (self,))
        def b():
            self.grad += out.data * out.grad
        out._backward = b
        return NOTHING
""")


@pytest.mark.parametrize("returned, words", [("None", "returns None"), ("out.data", "returns a float"),
                                            ("(out, 1)", "returns a tuple")])
def test_a_method_returning_no_node_is_an_api_finding_not_a_lacking_op(tmp_path, returned, words):
    f = tmp_path / "ret.py"
    f.write_text(GOOD.replace("HOOK", "pass") + textwrap.indent(RETURNS.replace("NOTHING", returned), "    "))
    out = tmp_path / "out"
    status = main(["run", "--engine", f"{f}:Value", "--only", "op:exp", "--backends", "engine", "--out", str(out)])
    doc = json.loads((out / "conformance.json").read_text())
    assert status == 1 and "exp" not in doc["subject"]["lacks"]
    assert any(d["kind"] == "api" and d["op"] == "exp" and words in d["summary"] for d in doc["diagnosis"])
    failing = [r for r in doc["records"] if r["backend"] == "engine" and r["case"] == "exp"]
    assert failing and all(r["status"] != "unsupported" for r in failing)


EXP_FAR = textwrap.dedent("""
    def exp(self):
        out = Value(math.exp(self.data), (self,))
        def b():
            self.grad += out.data * out.grad * (2.0 if self.data > 100 else 1.0)
        out._backward = b
        return out
""")


def test_a_failure_the_probes_miss_is_localised_on_the_failing_case(tmp_path):
    """exp's backward is wrong only far out (x > 100), where no probe goes but the corpus does: the failing
    case is replayed op by op and its nodes' gradients compared with the true adjoints, naming exp."""
    f = tmp_path / "far.py"
    f.write_text(GOOD.replace("HOOK", "pass") + textwrap.indent(EXP_FAR, "    "))
    out = tmp_path / "out"
    status = main(["run", "--engine", f"{f}:Value", "--only", "op:exp", "--backends", "engine", "--out", str(out)])
    doc = json.loads((out / "conformance.json").read_text())
    assert status == 1
    assert {d["op"] for d in doc["diagnosis"] if d["kind"] == "rule"} == {"exp"}, doc["diagnosis"]
    found = next(d for d in doc["diagnosis"] if d["op"] == "exp")
    assert "exp(a)" in found["summary"] and found["evidence"][0]["case"] == "exp", found
