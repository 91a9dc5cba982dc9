"""adcheck's own bugs surface: every name an in-function import takes exists, and an internal error is
one line, a traceback file and exit status 4."""
import ast
import importlib
import pathlib

import pytest

import reference
from reference import cli

ROOT = pathlib.Path(reference.__file__).parent


def _nested_imports():
    """(module file, line, module, name) of every import written inside a function of reference/."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        if path.name == "__init__.py":
            package += ".__init__"
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    out += [(path.name, node.lineno, a.name, None) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parent = package.rsplit(".", node.level)[0]
                        base = f"{parent}.{base}" if base else parent
                    out += [(path.name, node.lineno, base, a.name) for a in node.names]
    return out


NESTED = _nested_imports()
OPTIONAL = ("jax", "autograd", "mygrad", "tinygrad", "dask", "distributed", "IPython", "matplotlib", "graphviz",
            "nbformat", "ipykernel", "jupyter_client", "ipywidgets")


def test_there_are_in_function_imports_to_check():
    assert len(NESTED) > 10


@pytest.mark.parametrize("where,line,module,name", NESTED, ids=[f"{w}:{n}" for w, n, _, _ in NESTED])
def test_every_in_function_import_resolves(where, line, module, name):
    """A name moved or renamed elsewhere fails here, not at run time behind an except."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        if module.split(".")[0] in OPTIONAL:
            pytest.skip(f"{module} is an optional extra")
        raise
    if name is not None and name != "*" and not hasattr(mod, name):
        importlib.import_module(f"{module}.{name}")  # a submodule, imported by name


def test_an_internal_error_is_one_line_a_traceback_file_and_exit_4(tmp_path, capsys, monkeypatch):
    def broken(args):
        raise KeyError("a bug of adcheck")
    monkeypatch.setattr(cli, "cmd_run", broken)
    parser_run = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser_run)
    for action in parser_run._subparsers._group_actions[0].choices.values():
        if action.prog.endswith(" run"):
            action.set_defaults(run=broken)
    status = cli.main(["run", "--out", str(tmp_path), "--only", "op:tanh", "--backends", "engine"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == cli.EXIT_INTERNAL == 4
    assert len(err) == 1 and "internal error: KeyError" in err[0] and "Traceback" not in err[0], err
    files = list(tmp_path.glob("adcheck-traceback-*.txt"))
    assert len(files) == 1 and str(files[0]) in err[0]
    assert "Traceback" in files[0].read_text() and "a bug of adcheck" in files[0].read_text()


def test_a_bug_of_adcheck_where_the_engine_runs_is_exit_4_not_a_finding(tmp_path, capsys, monkeypatch):
    """A KeyError in adcheck's own probing code (in the isolated worker) is not "the engine raises"."""
    # The worker is a fresh interpreter: the bug is planted there by a sitecustomize it imports at start.
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(
        "from reference.corpus.cases import by_name\n"
        "from reference.subject import tasks\n"
        "def broken(self, name):\n"
        "    return by_name('an adcheck bug in probing')  # a KeyError raised inside reference/\n"
        "tasks.Tasks.probe_op = broken\n")
    import os
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plant), os.environ.get("PYTHONPATH", "")]))
    engine = pathlib.Path(__file__).parent / "learner_engines" / "correct_lecture.py"
    status = cli.main(["run", "--engine", f"{engine}:Value", "--only", "op:tanh", "--backends", "engine",
                       "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 4, err
    assert "internal error: InternalError" in err[-1] and "KeyError" in err[-1], err
    text = next(tmp_path.glob("adcheck-traceback-*.txt")).read_text()
    assert "an adcheck bug in probing" in text and "probe_op" in text
