"""Hints toward the adapter options (``--functions``, ...) when a guess fits (issue 24).

Read from the source text only (``ast``): nothing of the learner's is imported or run here.
"""
from __future__ import annotations

import ast
import os

from reference.subject import ops as _ops

_MOST_FILES = 40
_MOST_BYTES = 400_000


def _functions_in(path: str) -> set[str]:
    """Names of the module-level functions of one file that take at least one argument."""
    try:
        if os.path.getsize(path) > _MOST_BYTES:
            return set()
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.args.args}


def _imports(path: str, module: str) -> bool:
    """Whether a file imports ``module`` (``import module``, ``from module import ...``, relative too)."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[-1] == module for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == module:
            return True
    return False


def functions_hint(engine_file: str, class_name: str, lacks: dict, functions_given: bool) -> list[str]:
    """``--functions MODULE`` when the ops the class lacks as methods are functions of its own file or of a
    sibling module; one hint per module, the engine's own file first."""
    if functions_given or not engine_file.endswith(".py") or not os.path.isfile(engine_file):
        return []
    table = _ops.ops()
    wanted = {}
    for op, why in lacks.items():
        info = table.get(op)
        if info is None or info.operator or not why.startswith("no method"):
            continue
        for name in dict.fromkeys(n for n in (info.method, *info.names) if n):
            wanted.setdefault(name, op)
    if not wanted:
        return []
    folder = os.path.dirname(os.path.abspath(engine_file))
    try:
        siblings = sorted(f for f in os.listdir(folder) if f.endswith(".py"))[:_MOST_FILES]
    except OSError:
        siblings = []
    files = [os.path.abspath(engine_file)] + [os.path.join(folder, f) for f in siblings
                                              if os.path.join(folder, f) != os.path.abspath(engine_file)]
    out = []
    stem = os.path.splitext(os.path.basename(engine_file))[0]
    for path in files:
        if path != files[0] and not _imports(path, stem):
            continue  # a sibling's functions work on this class only if it imports the engine's module
        found = [n for n in _functions_in(path) if n in wanted]
        if not found:
            continue
        shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
        ops = ", ".join(sorted(found))
        out.append(f"{ops} {'is a function' if len(found) == 1 else 'are functions'} in {shown}, not "
                   f"method(s) of {class_name}: give --functions {shown} to check "
                   f"{'it' if len(found) == 1 else 'them'} too")
        break
    return out
