"""Engines that live in packages (issue 26): MiniTorch's layout and a micrograd split over two modules.

Each fixture root of tests/packages (see its README) is checked with `adcheck run --engine`; the
package is imported as a package in the worker (relative imports work), MiniTorch's `.derivative`
and `backward()` are found without options.
"""
import json
import sys
import time
from pathlib import Path

import pytest

from reference.cli import main
from reference.subject.load import package_root, parse_spec
from reference.subject.notebook import code_location, describe_location

PACKAGES = Path(__file__).resolve().parent / "packages"

# root -> (exit status, ops named by a rule/forward/raises/api finding, the kind expected)
EXPECTED = {
    "minitorch_right": (0, set(), None),
    "minitorch_ignores_doutput": (1, {"sigmoid"}, "rule"),
    "minitorch_backward_none": (1, {"mul"}, "rule"),
    "minitorch_bfs_topo": (1, set(), "graph"),
    "minitorch_topo_stops_early": (1, set(), "graph"),
    "micro_pkg": (0, set(), None),
    "micro_pkg_bug": (1, {"sqrt"}, "rule"),
}
GRAPH_TRAPS = {"minitorch_bfs_topo": "breadth-first", "minitorch_topo_stops_early": "stops at a node's first parent"}


def _spec(root: str) -> list[str]:
    if root.startswith("minitorch"):
        return ["--engine", "minitorch.scalar:Scalar", "--path", str(PACKAGES / root)]
    return ["--engine", str(PACKAGES / root / "mygrad_pkg" / "engine.py") + ":Value"]


def _run(tmp_path, *args) -> tuple[int, dict, float]:
    start = time.perf_counter()
    status = main(["run", *args, "--backends", "engine", "--out", str(tmp_path)])
    seconds = time.perf_counter() - start
    return status, json.loads((tmp_path / "conformance.json").read_text()), seconds


def _blamed(doc) -> set:
    return {d["op"] for d in doc["diagnosis"] if d["op"] and d["kind"] not in ("precision", "convention")}


@pytest.mark.parametrize("root", list(EXPECTED))
def test_a_package_engine_is_checked(root, tmp_path, capsys):
    status, doc, seconds = _run(tmp_path, *_spec(root))
    exit_status, ops, kind = EXPECTED[root]
    err = capsys.readouterr().err
    assert "Traceback" not in err and "could not be loaded" not in json.dumps(doc["diagnosis"])
    assert status == exit_status, doc["diagnosis"]
    assert _blamed(doc) == ops, doc["diagnosis"]
    if kind:
        assert kind in {d["kind"] for d in doc["diagnosis"]}
    if root.startswith("minitorch"):
        assert doc["subject"]["adapter"]["grad"] == "derivative"  # found, no --grad-attr
        assert {"add", "mul", "div", "neg", "exp", "log", "sigmoid", "relu"}.isdisjoint(doc["subject"]["lacks"])
        assert doc["subject"]["file"].endswith("minitorch/scalar.py")
    assert seconds < 60  # about 1-3 s on an idle machine (torch already loaded); generous under a loaded CI


@pytest.mark.parametrize("root", list(GRAPH_TRAPS))
def test_a_wrong_topological_sort_is_a_graph_finding(root, tmp_path, capsys):
    """The sort's trap is one `graph` finding (op null) that says what the walk does, at the sort function."""
    status, doc, _ = _run(tmp_path, *_spec(root))
    assert status == 1
    assert not _blamed(doc), doc["diagnosis"]
    graph = [d for d in doc["diagnosis"] if d["kind"] == "graph"]
    assert len(graph) == 1 and graph[0]["op"] is None, doc["diagnosis"]
    assert GRAPH_TRAPS[root] in graph[0]["summary"] and "Fix:" in graph[0]["summary"], graph[0]["summary"]
    where = graph[0]["where"]
    assert where["function"] == "topological_sort" and where["file"].endswith("minitorch/autodiff.py"), where
    assert where["method"]["function"] == "backward"


def test_every_way_to_name_a_package_module(tmp_path, monkeypatch, capsys):
    root = PACKAGES / "minitorch_ignores_doutput"
    file = root / "minitorch" / "scalar.py"
    by_file = parse_spec(f"{file}:Scalar")
    assert (by_file.module, by_file.root) == ("minitorch.scalar", str(root))
    by_path = parse_spec("minitorch.scalar:Scalar", path=[str(root)])
    assert (by_path.module, by_path.path, by_path.root) == ("minitorch.scalar", str(file), str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    assert parse_spec("minitorch.scalar:Scalar").root == str(root)
    monkeypatch.delenv("PYTHONPATH")
    monkeypatch.chdir(root)
    assert parse_spec("minitorch.scalar:Scalar").root == str(root)
    status, doc, _ = _run(tmp_path / "out", "--engine", "minitorch.scalar:Scalar")
    assert status == 1 and _blamed(doc) == {"sigmoid"}
    # never the package folder itself on this process's path: its autodiff.py would meet adcheck's autodiff
    assert str(root / "minitorch") not in sys.path and "minitorch" not in sys.modules


def test_a_lone_module_and_a_missing_one(tmp_path):
    lone = tmp_path / "engine.py"
    lone.write_text("class Value:\n    pass\n")
    assert package_root(lone) == ("", "")
    assert parse_spec(f"{lone}:Value").module == ""
    with pytest.raises(ValueError, match="--path DIR"):
        parse_spec("nosuchpkg.engine:Value", path=[str(tmp_path)])
    with pytest.raises(ValueError, match="no folder"):
        parse_spec("nosuchpkg.engine:Value", path=[str(tmp_path / "nowhere")])


def test_a_package_named_like_adcheck_s_own_is_loaded_under_a_private_name(tmp_path, capsys):
    """A learner's package called `autodiff` (the name of this project's engine): loaded, and said."""
    package = tmp_path / "autodiff"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = (PACKAGES / "micro_pkg" / "mygrad_pkg")
    (package / "ops.py").write_text((source / "ops.py").read_text())
    (package / "engine.py").write_text((source / "engine.py").read_text())
    spec = parse_spec(f"{package / 'engine.py'}:Value")
    assert spec.module == "autodiff.engine" and "name of adcheck's own autodiff" in spec.clash
    status, doc, _ = _run(tmp_path / "out", "--engine", f"{package / 'engine.py'}:Value")
    assert status == 0, doc["diagnosis"]
    assert doc["subject"]["coverage"]["records_run"] > 100
    assert any("name of adcheck's own autodiff" in n for n in doc["subject"]["notes"])
    assert "name of adcheck's own autodiff" in capsys.readouterr().out


def test_where_names_the_function_class_and_method():
    """What a finding's `where` needs for a function class: the file, the line and `Class.method`."""
    import importlib
    sys.path.insert(0, str(PACKAGES / "minitorch_ignores_doutput"))
    try:
        functions = importlib.import_module("minitorch.scalar_functions")
        where = code_location(functions.Sigmoid.backward)
    finally:
        sys.path.remove(str(PACKAGES / "minitorch_ignores_doutput"))
        for name in [n for n in sys.modules if n == "minitorch" or n.startswith("minitorch.")]:
            del sys.modules[name]
    assert where["function"] == "Sigmoid.backward" and where["line"] == 123
    assert describe_location(where["file"], 123, where["function"]) == "scalar_functions.py:123 (Sigmoid.backward)"
    assert describe_location("/x/engine.py", 42) == "engine.py:42"


_WALK = '''        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)

        self.grad = 1.0
        for node in reversed(topo):
            node._backward()'''
_SORTS = {
    "breadth-first": '''        queue = [self]
        visited.add(self)
        for v in queue:
            for child in v._prev:
                if child not in visited:
                    visited.add(child)
                    queue.append(child)

        self.grad = 1.0
        for node in queue:
            node._backward()''',
    "stops at a node's first parent": _WALK.replace("                    build_topo(child)\n",
                                                    "                    if child in visited:\n"
                                                    "                        break\n"
                                                    "                    build_topo(child)\n"),
}


@pytest.mark.parametrize("words", list(_SORTS))
def test_the_same_sort_traps_in_a_micrograd_engine(words, tmp_path, capsys):
    """Not a recogniser of the MiniTorch files: micrograd's Value (children in a set, each leaf keeping what
    reaches it) with the same two sorts gets the same graph finding."""
    source = (Path(__file__).resolve().parent / "learner_engines" / "correct_lecture.py").read_text()
    assert _WALK in source
    engine = tmp_path / "engine.py"
    engine.write_text(source.replace(_WALK, _SORTS[words]))
    status, doc, _ = _run(tmp_path / "out", "--engine", f"{engine}:Value")
    assert status == 1 and not _blamed(doc), doc["diagnosis"]
    graph = [d for d in doc["diagnosis"] if d["kind"] == "graph"]
    assert len(graph) == 1 and words in graph[0]["summary"], doc["diagnosis"]
