"""``python -m autodiff.regenerate [--check]``: write autodiff/_generated.py from rules.py, or only compare.

The engine's per-op code (``Value``'s op methods, the chain-rule loops) is generated from the
registry rows by ``codegen.engine_module`` and checked in; run this after adding or changing a row.
(A module of its own, which the package never imports, so that ``-m`` runs it cleanly.)
"""
from __future__ import annotations

import sys
from pathlib import Path

from .codegen import COMMAND, GENERATED, engine_module

__all__ = ["main", "write"]


def write(path: Path = GENERATED) -> bool:
    """Write the generated module from the registry; True if its text changed."""
    text = engine_module()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # never a half-written module
    return True


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, only compare) the generated module; 1 if ``--check`` finds it stale."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    if args:
        current = GENERATED.exists() and GENERATED.read_text(encoding="utf-8") == engine_module()
        print(f"{GENERATED.name} is current" if current else f"{GENERATED.name} is stale: run `{COMMAND}`")
        return 0 if current else 1
    changed = write()
    lines = len(GENERATED.read_text(encoding="utf-8").splitlines())
    print(f"{'wrote' if changed else 'unchanged:'} {GENERATED} ({lines} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
