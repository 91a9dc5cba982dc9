"""The commands timed as a user runs them, each in a fresh interpreter (run, fuzz, check with bad input, graph)."""
from __future__ import annotations

import sys
import time

from reference.bench.timing import spread


def _command_seconds(args: list[str], expect: int) -> tuple[float, str]:
    """Wall time of ``python -m reference ARGS`` in a fresh interpreter (imports included), and its output."""
    import subprocess
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "reference", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != expect:
        raise RuntimeError(f"adcheck {' '.join(args)} exited {done.returncode}, expected {expect}: "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")
    return seconds, done.stdout + done.stderr


def bench_suite(repeats: int = 3, fuzz_count: int = 2000, quick: bool = False) -> list[dict]:
    """The commands as a user runs them, each in a fresh interpreter, ``repeats`` times: wall seconds
    (and the fuzz rate that ``adcheck fuzz`` itself reports), with their spread."""
    import re
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory(prefix="adcheck-bench-suite-") as tmp:
        commands = [
            ("adcheck run (all backends, 2 workers)", ["run", "--workers", "2", "--out", tmp], 0),
            (f"adcheck fuzz --count {fuzz_count} --workers 2", ["fuzz", "--count", str(fuzz_count), "--workers", "2",
                                                               "--out", tmp], 0),
            ("adcheck check, bad expression", ["check", "tanh(x", "--at", "x=1"], 2),
            ("adcheck check, bad point", ["check", "tanh(x)", "--at", "x=one"], 2),
            ("adcheck graph", ["graph", "tanh(x*w + b)", "--at", "x=0.5,w=-1,b=0.2", "-o", f"{tmp}/g.svg"], 0),
        ]
        if quick:
            commands = commands[2:]
        for name, args, expect in commands:
            walls, rates = [], []
            for _ in range(repeats):
                seconds, text = _command_seconds(args, expect)
                walls.append(seconds)
                found = re.search(r"expressions in [0-9.]+ s \(([0-9.]+)/s\)", text)
                if found:
                    rates.append(float(found.group(1)))
            rows.append({"command": name, "args": args, "wall": spread(walls),
                         "rate": spread(rates) if rates else None})
    return rows
