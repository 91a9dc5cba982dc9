"""Engines in Jupyter notebooks: reading one, running its code cells until the class exists, and naming places.

A notebook is read (JSON) in the main process, where a file that is not a notebook is bad input;
its cells run only in the isolated worker. Each code cell is compiled under the file name
``<NAME.ipynb cell N>`` (N: 1-based among ALL cells, markdown included, as the notebook shows
them) and its text is put in ``linecache``, so tracebacks and ``inspect`` give the cell and the
line; :func:`describe_location` turns such a place into words ("NAME.ipynb, cell 4, line 88").

IPython magics and shell lines (``%matplotlib inline``, ``!pip install ...``, ``%%time`` cells) are
not Python: they become ``pass`` (same line numbers) and are said. matplotlib draws on Agg.
"""
from __future__ import annotations

import ast
import json
import linecache
import os
import re
import signal
import sys
import threading
import types
from pathlib import Path

_CELL_FILE = re.compile(r"^<(?P<nb>.+\.ipynb) cell (?P<cell>\d+)>$")
_IN_FILE = re.compile(r"^<In \[(?P<n>\d+)\]>$")
CELL_BUDGET = 10.0  # seconds per cell before the class exists (twice --engine-timeout, 5 s by default)


class NotebookError(ValueError):
    """The file is not a notebook this checker can read (bad input: one line)."""


class NotebookCellError(Exception):
    """A cell raised or ran out of time before the class existed (the subject cannot be checked)."""

    def __init__(self, message: str, exception: str = "", timed_out: bool = False):
        super().__init__(message)
        self.exception = exception
        self.timed_out = timed_out


class _CellTimeout(BaseException):
    """Raised inside a cell by the alarm: a BaseException, so the cell's own ``except Exception`` lets it pass."""


def is_notebook(path: str) -> bool:
    return str(path).lower().endswith(".ipynb")


def cell_filename(notebook: str, index: int) -> str:
    """The file name a cell's code is compiled under: ``<NAME.ipynb cell N>``."""
    return f"<{Path(notebook).name} cell {index}>"


def describe_location(filename: str, line: int | None, function: str | None = None) -> str:
    """A place in the subject's code, in words.

    ``<NAME.ipynb cell 4>``, 88 -> "NAME.ipynb, cell 4, line 88"; ``<In [2]>``, 88 -> "In [2], line 88";
    a file -> "file.py:42"; with ``function`` (a qualified name such as ``Sigmoid.backward``) it is
    added in parentheses: "scalar_functions.py:123 (Sigmoid.backward)".
    """
    name = str(filename or "")
    cell = _CELL_FILE.match(name)
    inn = _IN_FILE.match(name)
    if cell:
        text = f"{cell['nb']}, cell {cell['cell']}" + (f", line {line}" if line else "")
    elif inn:
        text = f"In [{inn['n']}]" + (f", line {line}" if line else "")
    else:
        text = (Path(name).name if name else "?") + (f":{line}" if line else "")
    return f"{text} ({function})" if function else text


def code_location(obj) -> dict:
    """``{"file", "line", "function"}`` of a function, method or code object (the qualified name: Class.method)."""
    func = obj
    for attr in ("__func__", "fget"):
        func = getattr(func, attr, func)
    code = getattr(func, "__code__", func)
    if not isinstance(code, types.CodeType):
        return {"file": "", "line": None, "function": ""}
    qualname = getattr(code, "co_qualname", None) or getattr(func, "__qualname__", code.co_name)
    line = code.co_firstlineno  # the first decorator's line, for a decorated function: step to its `def`
    lines = linecache.getlines(code.co_filename)
    while 0 < line <= len(lines) and lines[line - 1].lstrip().startswith("@"):
        line += 1
    return {"file": code.co_filename, "line": line, "function": qualname}


# -- reading --------------------------------------------------------------------------------------
def read_cells(path: str) -> list[dict]:
    """The notebook's cells as ``{"type", "source"}`` (source a str); NotebookError with one line if unreadable."""
    name = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not a notebook: not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{name} is not a notebook: not valid JSON ({err.msg}: line {err.lineno}, "
                            f"column {err.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise NotebookError(f"{name} is not a notebook: no list of cells")
    cells = []
    for cell in doc["cells"]:
        if not isinstance(cell, dict):
            raise NotebookError(f"{name} is not a notebook: a cell is not an object")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(s) for s in source)
        cells.append({"type": str(cell.get("cell_type", "")), "source": str(source)})
    return cells


def python_of(source: str) -> tuple[str, list[tuple[int, str]]]:
    """A code cell as Python: magic and shell lines become ``pass`` (line numbers kept); (code, skipped lines)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):  # a cell magic: the whole cell is not Python
        return "", [(1, lines[0].strip())]
    out, skipped = [], []
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        assigned = re.match(r"^[A-Za-z_][A-Za-z0-9_,\s]*=\s*[!%]", stripped)
        if stripped.startswith(("%", "!")) or assigned:
            out.append(indent + "pass")
            skipped.append((number, stripped))
        else:
            out.append(line)
    return "\n".join(out) + ("\n" if source.endswith("\n") else ""), skipped


def defines(code: str, name: str) -> bool:
    """Whether the cell's code binds ``name`` at its top level (a class statement, an assignment or an import)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
    return False


def check_notebook(path: str, cls: str) -> None:
    """In the main process, without running anything: a readable notebook with a cell that binds ``cls``."""
    cells = read_cells(path)
    name = Path(path).name
    codes = [python_of(c["source"])[0] for c in cells if c["type"] == "code"]
    if not codes:
        raise NotebookError(f"{name} has no code cells")
    if not any(defines(code, cls) for code in codes):
        raise NotebookError(f"{name} has no class {cls} (no code cell defines it)")


# -- running, in the worker ------------------------------------------------------------------------
def register_source(filename: str, source: str) -> None:
    """Make ``source`` the text linecache (so tracebacks and inspect) gives for ``filename``."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def run_notebook(path: str, cls: str, budget: float = CELL_BUDGET) -> types.ModuleType:
    """Run the code cells in order, in a fresh module, until ``cls`` exists; NotebookCellError if a cell fails first.

    Cells after the class are not run. Each cell has ``budget`` seconds (an alarm, in the main thread).
    The notebook's folder is the working directory and the end of ``sys.path``, as in Jupyter.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = Path(path).resolve()
    cells = read_cells(str(nb))
    module = types.ModuleType(f"_adcheck_notebook_{re.sub(r'[^A-Za-z0-9_]', '_', nb.stem)}")
    module.__file__ = str(nb)
    module.__adcheck_files__ = set()
    module.__adcheck_skipped__ = []
    module.__dict__["__builtins__"] = __builtins__
    sys.modules[module.__name__] = module
    os.chdir(nb.parent)
    if str(nb.parent) not in sys.path:
        sys.path.append(str(nb.parent))
    for index, cell in enumerate(cells, 1):
        if cell["type"] != "code":
            continue
        code, skipped = python_of(cell["source"])
        filename = cell_filename(nb.name, index)
        module.__adcheck_skipped__ += [f"cell {index}, line {n}: {text}" for n, text in skipped]
        if not code.strip():
            continue
        register_source(filename, code)
        module.__adcheck_files__.add(filename)
        _run_cell(code, filename, module, nb.name, index, cls, budget)
        if isinstance(module.__dict__.get(cls), type):
            return module
    raise NotebookCellError(f"{nb.name}: no code cell defines the class {cls} when run in order", "LookupError")


def _run_cell(code: str, filename: str, module, notebook: str, index: int, cls: str, budget: float) -> None:
    where = f"{notebook}, cell {index}"
    try:
        compiled = compile(code, filename, "exec")
    except SyntaxError as err:
        raise NotebookCellError(f"{where}, line {err.lineno}: SyntaxError: {err.msg} (before {cls} exists)",
                                "SyntaxError") from None
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if alarm:
        def ring(signum, frame):
            raise _CellTimeout()
        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        exec(compiled, module.__dict__)
    except _CellTimeout:
        raise NotebookCellError(f"{where} ran out of its {budget:g} s budget before {cls} exists",
                                "timeout", timed_out=True) from None
    except Exception as err:  # the learner's cell: any exception is the answer, named with its cell and line
        line = next((f.lineno for f in _frames(err) if f.filename == filename), None)
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        what = f"{type(err).__name__}: {text}" if text else type(err).__name__
        raise NotebookCellError(f"{where}{f', line {line}' if line else ''}: {what} (before {cls} exists)",
                                type(err).__name__) from None
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _frames(err: BaseException):
    import traceback
    return traceback.extract_tb(err.__traceback__)


# -- a class defined in a running notebook (check_engine), sent to the worker by value ------------------
def functions_of(cls: type):
    """Every function defined in the class's own body (methods, static and class methods, properties)."""
    for klass in cls.__mro__:
        if klass.__module__ == "builtins":
            continue
        for value in vars(klass).values():
            for attr in ("__func__", "fget", "fset"):
                inner = getattr(value, attr, None)
                if isinstance(inner, types.FunctionType):
                    yield inner
            if isinstance(value, types.FunctionType):
                yield value


def rename_code(cls: type, names: dict[str, tuple[str, str | None]]) -> None:
    """Give each of the class's functions (by qualified name), and the functions nested in it, its file name."""
    def renamed(code: types.CodeType, filename: str) -> types.CodeType:
        consts = tuple(renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
        return code.replace(co_filename=filename, co_consts=consts)

    for func in functions_of(cls):
        target = names.get(func.__qualname__)
        if target is not None:
            func.__code__ = renamed(func.__code__, target[0])


def cell_names(cls: type) -> dict[str, tuple[str, str]]:
    """Where a notebook class's code lives: {file name of its code: (``<NB.ipynb cell N>`` or ``<In [n]>``, source)}.

    The kernel compiles each cell under a name of its own (a temporary file) and keeps its text in
    linecache. The cell is found in the notebook (``JPY_SESSION_NAME``, or the notebooks in the
    working directory) by its text; failing that, by its number in IPython's input history.
    """
    files = {f.__code__.co_filename for f in functions_of(cls)}
    history = _input_history()
    notebooks = []  # (how many of its code cells the kernel ran, name, cells): the likeliest notebook first
    for nb in _candidate_notebooks():
        try:
            cells = read_cells(str(nb))
        except (NotebookError, OSError):
            continue
        ran = sum(any(_same_code(python_of(c["source"])[0], h) for h in history) for c in cells
                  if c["type"] == "code" and c["source"].strip())
        notebooks.append((ran, nb.name, cells))
    notebooks.sort(key=lambda t: -t[0])
    out = {}
    for filename in files:
        lines = linecache.getlines(filename)
        if not lines:
            continue
        source = "".join(lines)
        found = None
        for _, name, cells in notebooks:
            index = next((i for i, cell in enumerate(cells, 1) if cell["type"] == "code"
                          and _same_code(python_of(cell["source"])[0], source)), None)
            if index is not None:
                found = cell_filename(name, index)
                break
        if found is None:
            n = next((i for i in range(len(history) - 1, 0, -1) if _same_code(history[i], source)), None)
            found = f"<In [{n}]>" if n else None
        if found:
            out[filename] = (found, source)
    return out


def _same_code(a: str, b: str) -> bool:
    strip = lambda s: [line.rstrip() for line in s.strip().splitlines() if line.strip()
                       and not line.lstrip().startswith(("%", "!", "get_ipython()", "pass"))]
    return strip(a) == strip(b)


def _candidate_notebooks() -> list[Path]:
    found = []
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session and is_notebook(session) and Path(session).is_file():
        found.append(Path(session))
    try:
        found += sorted(p for p in Path.cwd().glob("*.ipynb") if p.is_file())
    except OSError:
        pass
    return found


def _input_history() -> list[str]:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if get else None
    if shell is None:
        return []
    return list(getattr(getattr(shell, "history_manager", None), "input_hist_parsed", []) or [])
