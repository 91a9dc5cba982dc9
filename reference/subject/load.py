"""Finding the engine under test: ``MODULE:CLASS``, ``path/to/file.py:CLASS`` or ``NOTEBOOK.ipynb:CLASS``.

A spec is checked in the main process without importing the learner's code (an import can
hang, print, exit or crash); the import itself happens in the isolated worker.

A module inside a package (``pkg.mod``, or ``path/to/pkg/mod.py`` in a folder holding an
``__init__.py``) is imported as a member of its package, so its relative imports work: the
package root (the first folder up without an ``__init__.py``) goes first on ``sys.path``, in the
worker only. A package named like one of this project's (``autodiff``, ``reference``) is loaded
under a private name instead, and that is said. A class object (``check_engine`` from a notebook)
travels to the worker by value.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reference.subject import notebook as _nb

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EngineSpec:
    """Where the engine is and how to talk to it."""

    module: str  # a module name, or '' when loaded from a file
    path: str  # the file, absolute ('' when unknown until import)
    cls: str
    grad_attr: str | None = None
    backward_method: str | None = None
    functions: str | None = None  # a module (name or file) whose functions are ops: tanh(v), ln(v)
    timeout: float = 5.0
    extra: dict = field(default_factory=dict, compare=False)
    root: str = ""  # a package module's root folder (first on sys.path in the worker), else ''
    search: tuple = ()  # --path folders, as given
    by_value: bytes = field(default=b"", compare=False, repr=False)  # a pickled class (check_engine)

    @property
    def text(self) -> str:
        """How the user named it."""
        return f"{self.module or self.path}:{self.cls}"

    @property
    def notebook(self) -> bool:
        return not self.module and _nb.is_notebook(self.path)

    @property
    def clash(self) -> str:
        """A note when the package's top name is one of this project's (it is then loaded under a private name)."""
        top = self.module.split(".")[0] if self.root else ""
        if top in _OWN_PACKAGES:
            return (f"the package {top} has the name of adcheck's own {top} package: loaded under a private name "
                    f"(its relative imports work; an absolute `import {top}` inside it reaches adcheck's)")
        return ""

    @property
    def options(self) -> list[str]:
        """The command-line options that reproduce this spec."""
        out = ["--engine", self.text]
        for flag, value in (("--grad-attr", self.grad_attr), ("--backward-method", self.backward_method),
                            ("--functions", self.functions)):
            if value:
                out += [flag, value]
        for folder in self.search:
            out += ["--path", folder]
        return out


_OWN_PACKAGES = ("autodiff", "reference")


def _module_file(name: str, base: Path) -> Path | None:
    """A file or package in ``base`` that the module name refers to, if there is one."""
    rel = Path(*name.split("."))
    for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


_SHAPES = "MODULE:CLASS, path/to/file.py:CLASS or NOTEBOOK.ipynb:CLASS"


def parse_spec(text: str, grad_attr=None, backward_method=None, functions=None, timeout: float = 5.0,
               path=()) -> EngineSpec:
    """Check a spec's shape and that its file or module exists; ValueError with one line if not.

    ``path``: folders to look for a module name in (``--path DIR``), before the current folder and ``sys.path``.
    """
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"--engine wants {_SHAPES}, got {text!r}")
    where, _, cls = text.rpartition(":")
    if not where or not _IDENT.match(cls):
        raise ValueError(f"--engine wants {_SHAPES}, got {text!r}")
    search = tuple(str(p) for p in (path or ()))
    for folder in search:
        if not Path(folder).expanduser().is_dir():
            raise ValueError(f"--path: no folder {folder}")
    for flag, value in (("--grad-attr", grad_attr), ("--backward-method", backward_method)):
        if value is not None and not _IDENT.match(value):
            raise ValueError(f"{flag} wants a Python name, got {value!r}")
    if not (timeout > 0 and timeout < 1e6):
        raise ValueError(f"--engine-timeout must be a positive number of seconds, got {timeout!r}")
    if functions is not None:
        _locate(functions, "--functions", search)
    module, file, root = _locate(where, "--engine", search)
    if file and _nb.is_notebook(file):
        try:
            _nb.check_notebook(file, cls)
        except _nb.NotebookError as err:
            raise ValueError(str(err)) from None
    return EngineSpec(module, file, cls, grad_attr, backward_method, functions, float(timeout), root=root,
                      search=search)


def package_root(file: Path) -> tuple[str, str]:
    """(dotted module name, root folder) of a .py file inside a package, or ('', '') for a lone file."""
    parts = [] if file.name == "__init__.py" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        folder = folder.parent
    if file.name != "__init__.py" and len(parts) == 1:
        return "", ""
    if not parts:
        return "", ""
    return ".".join(parts), str(folder)


def _search_path(search) -> list[Path]:
    """Where a module name is looked for: --path, the current folder, PYTHONPATH, then sys.path."""
    folders = [Path(p).expanduser() for p in search] + [Path.cwd()]
    folders += [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    folders += [Path(p) for p in sys.path if p and p not in ("", ".")]
    seen, out = set(), []
    for folder in folders:
        try:
            key = folder.resolve()
        except OSError:
            continue
        if key not in seen and folder.is_dir():
            seen.add(key)
            out.append(folder)
    return out


def _locate(where: str, flag: str, search=()) -> tuple[str, str, str]:
    """(module name, absolute file path, package root): a lone file has no module name and no root.

    Nothing is imported: a module name is looked up as files (``pkg/mod.py`` under a folder of the
    search path, with ``pkg/__init__.py``), so a package's ``__init__`` never runs in this process.
    """
    if where.endswith((".py", ".ipynb")) or os.sep in where or "/" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise ValueError(f"{flag}: no file {where}")
        path = path.resolve()
        if path.suffix == ".py":
            module, root = package_root(path)
            if module:
                return module, str(path), root
        return "", str(path), ""
    if not all(_IDENT.match(part) for part in where.split(".")):
        raise ValueError(f"{flag}: {where!r} is not a module name or a .py file")
    for folder in _search_path(search):
        found = _module_file(where, folder)
        if found is None:
            continue
        if "." not in where and found.name != "__init__.py":
            return "", str(found), ""  # a lone module (a learner's autodiff.py is theirs): loaded by path
        parents = where.split(".")[:-1] if found.name != "__init__.py" else where.split(".")
        if all((folder.joinpath(*parents[:i + 1]) / "__init__.py").is_file() for i in range(len(parents))):
            return where, str(found), str(folder.resolve())
    try:  # a namespace package or an extension module: ask the import system, importing no package
        found_spec = importlib.util.find_spec(where) if "." not in where else None
    except (ImportError, ValueError) as err:
        raise ValueError(f"{flag}: cannot find module {where!r}: {err}") from None
    if found_spec is None:
        hint = " (give its package's folder with --path DIR, or run from there)" if "." in where else ""
        raise ValueError(f"{flag}: cannot find module {where!r}{hint}")
    origin = found_spec.origin
    return where, str(Path(origin).resolve()) if origin and origin != "built-in" else "", ""


def check_class_defined(spec: EngineSpec) -> None:
    """Read the module's source (no import) and make sure it binds the class name; ValueError if not.

    Here rather than with the backends so that the command line can answer a wrong ``--engine``
    without loading them (they import torch and SymPy).
    """
    import ast
    if not spec.path or not spec.path.endswith(".py"):
        return
    try:
        tree = ast.parse(open(spec.path, encoding="utf-8").read())
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, SyntaxError):
            raise ValueError(f"{spec.path}: syntax error at line {err.lineno}: {err.msg}") from None
        return
    name = spec.cls

    def binds(body) -> bool:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return True
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return True
            if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
                return True
            if isinstance(node, ast.Import) and any((a.asname or a.name) == name for a in node.names):
                raise ValueError(f"{spec.module or spec.path}: {name} is a module, not a class")
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                blocks = [getattr(node, "body", []), getattr(node, "orelse", []), getattr(node, "finalbody", [])]
                blocks += [h.body for h in getattr(node, "handlers", [])]
                if any(binds(b) for b in blocks):
                    return True
        return False

    if binds(tree.body):
        return
    raise ValueError(f"{spec.module or spec.path} has no class {name}")


def import_target(module: str, path: str, tag: str = "subject", root: str = "", budget: float = _nb.CELL_BUDGET,
                  cls: str = ""):
    """Import a module by name (as a member of its package when ``root`` is given), a file by path (under a
    private name, so nothing is shadowed), or run a notebook's cells until ``cls`` exists."""
    if not module and _nb.is_notebook(path):
        return _nb.run_notebook(path, cls, budget)
    if module and root:
        return _import_from_package(module, root)
    if module:
        return importlib.import_module(module)
    file = Path(path)
    name = f"_adcheck_{tag}_{re.sub(r'[^A-Za-z0-9_]', '_', file.stem)}"
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    if str(file.parent) not in sys.path:
        sys.path.append(str(file.parent))  # its own helper modules, after everything else
    sys.modules[name] = mod
    if file.stem.isidentifier() and file.stem not in sys.modules:
        sys.modules[file.stem] = mod  # so that its sibling modules importing it by name get this one
    spec.loader.exec_module(mod)
    return mod


def _import_from_package(module: str, root: str):
    """``pkg.mod`` as a member of ``pkg``, its root first on sys.path (in the worker only: this runs there)."""
    top, _, rest = module.partition(".")
    if top in _OWN_PACKAGES:  # the learner's package has the name of one of ours: load it under a private name
        alias = f"_adcheck_pkg_{top}"
        if alias not in sys.modules:
            init = Path(root) / top / "__init__.py"
            spec = importlib.util.spec_from_file_location(alias, init, submodule_search_locations=[str(init.parent)])
            package = importlib.util.module_from_spec(spec)
            sys.modules[alias] = package
            spec.loader.exec_module(package)
        return importlib.import_module(f"{alias}.{rest}" if rest else alias)
    resolved = {str(Path(p).resolve()) for p in sys.path if p}
    if str(Path(root).resolve()) not in resolved:
        sys.path.insert(0, root)
    return importlib.import_module(module)


def engine_files(cls: type, functions=None) -> set[str]:
    """The files (and notebook cells) holding the engine's code, to tell its frames from Python's and ours.

    The class's module and the ``--functions`` module; every module of the class's package; the
    cells a notebook ran; the file names of the class's own functions (a class sent by value).
    """
    files: set[str] = set()
    modules = [sys.modules.get(cls.__module__), functions]
    top = cls.__module__.split(".")[0]
    if "." in cls.__module__ or hasattr(sys.modules.get(top), "__path__"):
        modules += [m for n, m in list(sys.modules.items()) if n == top or n.startswith(top + ".")]
    for mod in modules:
        f = getattr(mod, "__file__", None)
        if f:
            files.add(f)
        files.update(getattr(mod, "__adcheck_files__", ()) or ())
    files.update(f.__code__.co_filename for f in _nb.functions_of(cls))
    return files


def load(spec: EngineSpec):
    """(the class, the functions module or None); exceptions as the import raised them."""
    if spec.by_value:
        return _load_by_value(spec), None
    module = import_target(spec.module, spec.path, root=spec.root, budget=2 * spec.timeout,
                           cls=spec.cls)
    cls = getattr(module, spec.cls, None)
    if not isinstance(cls, type):
        where = spec.module or spec.path
        found = getattr(module, spec.cls, None)
        raise LookupError(f"{where} has no class {spec.cls}" + (f" ({spec.cls} is a {type(found).__name__})"
                                                                 if found is not None else ""))
    functions = None
    if spec.functions:
        fmod, fpath, froot = _locate(spec.functions, "--functions", spec.search)
        same = (fpath and fpath == spec.path) or (fmod and fmod == spec.module)
        functions = module if same else import_target(fmod, fpath, "functions", root=froot)
    return cls, functions


def _load_by_value(spec: EngineSpec) -> type:
    """A class pickled by value (cloudpickle), its code given back the names of the files or cells it came from."""
    import pickle
    cls, names = pickle.loads(spec.by_value)
    for name, source in names.values():
        if source is not None:
            _nb.register_source(name, source)
    _nb.rename_code(cls, names)
    return cls


def spec_by_value(cls: type, timeout: float = 5.0, grad_attr=None, backward_method=None) -> EngineSpec:
    """The spec of a class object that cannot be imported by name (defined in a notebook or a script's ``__main__``).

    Sent by value with cloudpickle (which does not keep file names); each function's file name goes
    with it, and where its code came from a notebook cell, that cell's name (``<NB.ipynb cell N>``)
    and text, so findings name the cell and line.
    """
    import cloudpickle
    cells = _nb.cell_names(cls)
    names = {}
    for func in _nb.functions_of(cls):
        file = func.__code__.co_filename
        names[func.__qualname__] = cells.get(file, (file, None))
    shown = next((_nb.describe_location(n, None).split(",")[0] for n, src in names.values() if src is not None), "")
    shown = shown or next((n for n, _ in names.values() if n and not n.startswith("<")), "") or cls.__module__
    blob = cloudpickle.dumps((cls, names))
    return EngineSpec("", shown, cls.__name__, grad_attr, backward_method, None, float(timeout), by_value=blob)
