"""Finding the engine under test: ``MODULE:CLASS`` or ``path/to/file.py:CLASS``, and the adapter options.

A spec is checked in the main process without importing the learner's code (an import can
hang, print, exit or crash); the import itself happens in the isolated worker.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def text(self) -> str:
        """How the user named it."""
        return f"{self.module or self.path}:{self.cls}"

    @property
    def options(self) -> list[str]:
        """The command-line options that reproduce this spec."""
        out = ["--engine", self.text]
        for flag, value in (("--grad-attr", self.grad_attr), ("--backward-method", self.backward_method),
                            ("--functions", self.functions)):
            if value:
                out += [flag, value]
        return out


def _module_file(name: str, base: Path) -> Path | None:
    """A file or package in ``base`` that the module name refers to, if there is one."""
    rel = Path(*name.split("."))
    for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def parse_spec(text: str, grad_attr=None, backward_method=None, functions=None, timeout: float = 5.0) -> EngineSpec:
    """Check a spec's shape and that its file or module exists; ValueError with one line if not."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"--engine wants MODULE:CLASS or path/to/file.py:CLASS, got {text!r}")
    where, _, cls = text.rpartition(":")
    if not where or not _IDENT.match(cls):
        raise ValueError(f"--engine wants MODULE:CLASS or path/to/file.py:CLASS, got {text!r}")
    for flag, value in (("--grad-attr", grad_attr), ("--backward-method", backward_method)):
        if value is not None and not _IDENT.match(value):
            raise ValueError(f"{flag} wants a Python name, got {value!r}")
    if not (timeout > 0 and timeout < 1e6):
        raise ValueError(f"--engine-timeout must be a positive number of seconds, got {timeout!r}")
    if functions is not None:
        _locate(functions, "--functions")
    module, path = _locate(where, "--engine")
    return EngineSpec(module, path, cls, grad_attr, backward_method, functions, float(timeout))


def _locate(where: str, flag: str) -> tuple[str, str]:
    """(module name, '') or ('', absolute file path)."""
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise ValueError(f"{flag}: no file {where}")
        return "", str(path.resolve())
    if not all(_IDENT.match(part) for part in where.split(".")):
        raise ValueError(f"{flag}: {where!r} is not a module name or a .py file")
    local = _module_file(where, Path.cwd())
    if local is not None:  # a learner's autodiff.py in the current folder is theirs, not this project's
        return "", str(local)
    try:
        found = importlib.util.find_spec(where)
    except (ImportError, ValueError) as err:
        raise ValueError(f"{flag}: cannot find module {where!r}: {err}") from None
    if found is None:
        raise ValueError(f"{flag}: cannot find module {where!r}")
    return where, str(Path(found.origin).resolve()) if found.origin and found.origin != "built-in" else ""


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


def import_target(module: str, path: str, tag: str = "subject"):
    """Import a module by name or a file by path (under a private name, so nothing is shadowed)."""
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


def load(spec: EngineSpec):
    """(the class, the functions module or None); exceptions as the import raised them."""
    module = import_target(spec.module, spec.path)
    cls = getattr(module, spec.cls, None)
    if not isinstance(cls, type):
        where = spec.module or spec.path
        found = getattr(module, spec.cls, None)
        raise LookupError(f"{where} has no class {spec.cls}" + (f" ({spec.cls} is a {type(found).__name__})"
                                                                 if found is not None else ""))
    functions = None
    if spec.functions:
        fmod, fpath = _locate(spec.functions, "--functions")
        same = (fpath and fpath == spec.path) or (fmod and fmod == spec.module)
        functions = module if same else import_target(fmod, fpath, "functions")
    return cls, functions
