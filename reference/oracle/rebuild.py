"""Rebuilding the stored corpus oracle: every case by both routes (a cross-check), SymPy's floats beside it.

``python -m reference.oracle --rebuild [--workers N]`` writes ``reference/oracle/data/oracle.json.gz``
(deterministic gzip); ``--check`` lists the stale cases.
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from reference.core.errors import NoOracle
from reference.corpus.cases import CORPUS
from reference.oracle.chain import Graph
from reference.oracle.store import (
    DATA,
    FORMAT,
    METHOD_VERSION,
    Triple,
    _enc,
    _encode,
    exact,
    fingerprint,
    forget_loaded,
    route_for,
    stale,
)
from reference.oracle.sympy_floats import sympy_float


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _flat(t: Triple) -> list[float]:
    return [t[0], *t[1], *(v for row in (t[2] or ()) for v in row)]


def compute_entry(case) -> dict:
    """One case's stored entry: fingerprint, route, and per point the oracle (or why there is none)."""
    route = route_for(case, case.points[0].values) if case.points else "sympy"
    other = "chain" if route == "sympy" else "sympy"
    points, disagree = [], []
    for i, point in enumerate(case.points):
        try:
            triple = exact(case, point.values, order=2, budget=None, route=route)
            entry = _encode(triple)
        except NoOracle as err:
            triple, entry = None, {"error": str(err)}
        # The other route as a cross-check (the chain route at order 2; SymPy's Hessian of a large
        # graph is too slow to check, so there it checks value and gradient).
        try:
            check = exact(case, point.values, order=2 if other == "chain" else 1, budget=None, route=other)
            mine = _flat(triple)[:len(_flat(check))] if triple is not None else None
            if mine is None or not all(_same(a, b) for a, b in zip(mine, _flat(check))):
                disagree.append(i)
        except NoOracle:
            if triple is not None:
                disagree.append(i)
        try:
            entry["sympy_float"] = [_enc(v) for v in sympy_float(case, point.values)]
        except (NoOracle, ArithmeticError, ValueError) as err:  # the backend recomputes it and reports its own error
            entry["sympy_float_error"] = f"{type(err).__name__}: {err}"
        points.append(entry)
    out = {"fingerprint": fingerprint(case), "route": route, "variables": list(case.variables), "points": points}
    if disagree:
        out["routes_disagree"] = disagree
    return out


def _worker(name: str) -> tuple[str, dict, float]:
    case = next(c for c in CORPUS if c.name == name)
    start = time.process_time()
    entry = compute_entry(case)
    return name, entry, time.process_time() - start


def _cost(case) -> float:
    """A rough cost estimate to schedule the biggest cases first."""
    try:
        g = Graph(case, case.points[0].values)
    except NoOracle:  # the engine cannot trace it: no size to go by
        return 0.0
    return len(g.nodes) * (1 + g.n) * len(case.points)


def rebuild(path: Path = DATA, workers: int = 2, cases=None, log: Callable[[str], None] | None = None) -> dict:
    """Recompute every corpus case's oracle into ``path`` (atomically); return the written data."""
    import mpmath
    import sympy

    cases = list(CORPUS if cases is None else cases)
    names = [c.name for c in sorted(cases, key=_cost, reverse=True)]
    entries: dict[str, dict] = {}
    start = time.perf_counter()
    if workers > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for name, entry, seconds in pool.imap_unordered(_worker, names):
                entries[name] = entry
                if log:
                    log(f"{name}: {seconds:.1f} s CPU")
    else:
        for name in names:
            _, entries[name], seconds = _worker(name)
            if log:
                log(f"{name}: {seconds:.1f} s CPU")
    data = {"format": FORMAT, "method_version": METHOD_VERSION,
            "made_with": {"sympy": sympy.__version__, "mpmath": mpmath.__version__},
            "cases": {c.name: entries[c.name] for c in cases}}
    _write(path, data)
    forget_loaded()
    if log:
        disagree = {n: e["routes_disagree"] for n, e in data["cases"].items() if "routes_disagree" in e}
        log(f"wrote {path} ({path.stat().st_size} bytes) in {time.perf_counter() - start:.1f} s; "
            f"routes disagree: {disagree or 'nowhere'}")
    return data


def _write(path: Path, data: dict) -> None:
    """Deterministic gzip of compact JSON, written to a temporary file and renamed."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".oracle-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m reference.oracle --rebuild [--workers N]`` or ``--check``."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m reference.oracle", description=main.__doc__)
    parser.add_argument("--rebuild", action="store_true", help="recompute the corpus oracle into the data file")
    parser.add_argument("--check", action="store_true", help="list stale cases; exit 1 if any")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.rebuild:
        rebuild(workers=max(1, args.workers), log=lambda s: print(s, file=sys.stderr))
        return 0
    names = stale()
    for n in names:
        print(n)
    return 1 if names else 0

