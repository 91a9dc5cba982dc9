"""Writing files whole: a temporary in the same folder, then a rename, so no reader sees half a file."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _mode() -> int:
    """0666 minus the umask: what a normal open() for writing would give."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename: never a half-written file."""
    write_pair(path.parent, {path.name: text})


_COMMIT = ".adcheck-commit"


def _recover(folder: Path) -> None:
    """Finish or undo a pair write that a killed run left behind.

    A commit file lists temporaries that were complete before any rename: roll those forward.
    Any other ``.*.adcheck.tmp`` is an unfinished write: remove it.
    """
    commit = folder / _COMMIT
    if commit.exists():
        try:
            pairs = json.loads(commit.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pairs = {}
        for tmp, final in pairs.items():
            if (folder / tmp).exists():
                os.replace(folder / tmp, folder / final)
        commit.unlink(missing_ok=True)
    for leftover in folder.glob(".*.adcheck.tmp"):
        leftover.unlink(missing_ok=True)
    for leftover in folder.glob(f"{_COMMIT}.*.tmp"):
        leftover.unlink(missing_ok=True)


def write_pair(folder: Path, files: dict[str, str]) -> None:
    """Replace several files of one folder together (e.g. conformance.md and .json).

    Every file is written to a temporary first; a commit file naming them is then put in place
    atomically, the temporaries are renamed, and the commit file is removed. A run killed before
    the commit file exists leaves the old files; one killed after it leaves the new ones (the next
    write finishes the renames). Leftover temporaries are cleaned up; files get 0666 minus the umask.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _recover(folder)
    mode = _mode()
    written: dict[str, str] = {}
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".adcheck.tmp")
            written[Path(tmp).name] = name
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{_COMMIT}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(written, f)
        os.replace(tmp, folder / _COMMIT)  # from here on the new pair wins, even if killed
    except BaseException:
        for tmp in written:
            (folder / tmp).unlink(missing_ok=True)
        raise
    for tmp, name in written.items():
        os.replace(folder / tmp, folder / name)
    (folder / _COMMIT).unlink(missing_ok=True)
