"""Differential fuzzing: random expressions through engine, torch and SymPy; disagreements minimized."""
from __future__ import annotations

import gc
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tabulate import tabulate

from reference.core.files import write_atomic
from reference.core.processes import pool_context
from reference.corpus.parser import parse
from reference.corpus.strategies import minimize, random_point, random_tree, text
from reference.running.distributed import map_ordered, scheduler_address
from reference.testing import check_gradients

FUZZ_BACKENDS = ("torch", "sympy")
# SymPy's cache entries per cached function in a worker (SymPy's default is 1000): deriving
# thousands of similar expressions reuses subexpressions and their assumptions across expressions.
SYMPY_CACHE_SIZE = "10000"


def disagreement(tree, point: dict, engine: str | None = None) -> list[dict]:
    """The failing records of one expression (empty when every backend agrees)."""
    return _outcome(tree, point, engine)[0]


def _outcome(tree, point: dict, engine) -> tuple[list[dict], bool]:
    """(the failing records, whether the engine really ran the expression).

    An op the engine lacks is not a disagreement: the expression counts as not run.
    """
    used = _used(tree, point)
    if not used:
        return [], False
    comparison = check_gradients(text(tree), used, FUZZ_BACKENDS, engine=engine)
    ran = any(r.get("subject") and r["status"] == "ok" for r in comparison.records)
    failures = [r for r in comparison.failures if not (r.get("subject") and r["verdict"] == "unsupported")]
    return failures, ran


def _used(tree, point: dict) -> dict:
    return {v: point[v] for v in parse(text(tree))[0]}


def _check(job) -> dict:
    """One expression: whether it was checked (it has variables), whether the engine ran it, and
    the minimised disagreement if there is one."""
    index, tree, point, engine = job
    checked = bool(_used(tree, point))
    failures, ran = _outcome(tree, point, engine)
    out = {"index": index, "checked": checked, "ran": ran, "finding": None}
    if not failures:
        return out
    small = minimize(tree, lambda t: bool(disagreement(t, point, engine)))
    final = disagreement(small, point, engine)
    used = _used(small, point)
    out["finding"] = {"index": index, "expression": text(tree), "minimal": text(small), "point": used,
                      "backends": sorted({r["backend"] for r in final}),
                      "records": [{k: r[k] for k in ("backend", "grad", "oracle_grad", "note")} for r in final]}
    return out


def fuzz(count: int, seed: int = 0, workers: int = 1, engine=None, depth: int = 4,
         progress=None, scheduler=None) -> dict:
    """Check ``count`` random expressions drawn from ``seed``; the findings are the same for a seed.

    ``workers`` local processes, or the workers of the Dask distributed cluster at ``scheduler``
    (an address, or a ``distributed.Client``; same jobs, same results). The result counts the
    expressions checked (those with variables) and those the engine really ran.
    """
    rng = random.Random(seed)
    jobs = [(i, random_tree(rng, depth), random_point(rng), engine) for i in range(count)]
    start = time.perf_counter()
    results = []
    for i, result in enumerate(_map(jobs, workers, scheduler)):
        results.append(result)
        if progress and ((i + 1) % 10 == 0 or i + 1 == count):
            progress(i + 1, count, f"{sum(1 for r in results if r['finding'])} found")
    seconds = time.perf_counter() - start
    return {"count": count, "seed": seed, "engine": getattr(engine, "text", engine) or "autodiff.engine.Value",
            "engine_options": " ".join(getattr(engine, "options", [])),
            "checked": sum(r["checked"] for r in results), "ran": sum(r["ran"] for r in results),
            "scheduler": scheduler_address(scheduler), "findings": [r["finding"] for r in results if r["finding"]],
            "seconds": seconds}


def _map(jobs, workers: int, scheduler):
    """_check over the jobs, results in job order: here, in local processes, or on a Dask cluster."""
    if scheduler:
        yield from map_ordered(scheduler, _check, jobs)
        return
    with (ProcessPoolExecutor(workers, mp_context=pool_context(), initializer=_start_worker) if workers > 1
          else _InProcess()) as pool:
        yield from pool.map(_check, jobs, chunksize=8)


def _start_worker() -> None:
    """A fuzz worker's start: a larger SymPy cache, the checking modules loaded, kept out of the collector."""
    os.environ.setdefault("SYMPY_CACHE_SIZE", SYMPY_CACHE_SIZE)  # read when sympy is first imported
    # Importing torch and SymPy makes a few hundred thousand long-lived objects: collecting while they
    # are made costs a sixth of the import, and afterwards every full pass would walk them all again.
    gc.disable()
    try:
        from reference import testing  # noqa: F401  (torch, SymPy and every backend, imported with the collector off)
    finally:
        gc.freeze()
        gc.enable()


class _InProcess:
    """The one-worker stand-in for a process pool: map in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items, chunksize=1):
        return map(fn, items)


def render(result: dict) -> str:
    """reports/fuzz.md."""
    count = result["count"]
    rate = count / result["seconds"] if result["seconds"] > 0 else float("inf")
    out = ["# Differential fuzzing", "",
           f"{count} random expressions (seed {result['seed']}) through the engine "
           f"(`{result['engine']}`), torch and SymPy, each judged against the 50-digit oracle; "
           f"{len(result['findings'])} disagreement(s). Took {result['seconds']:.1f} s "
           f"({rate:.1f} expressions per second"
           + (f", on the Dask cluster at {result['scheduler']}" if result.get("scheduler") else "") + ").", "",
           f"{result['checked']} of them have variables and were checked; the engine really ran "
           f"{result['ran']} of those" + (" (the rest use an op it lacks, or it failed on them)."
                                          if result["ran"] < result["checked"] else "."), ""]
    if not result["findings"]:
        out.append("No disagreement found.")
    for f in result["findings"]:
        at = ",".join(f"{k}={v!r}" for k, v in f["point"].items())
        out += [f"## #{f['index']}: `{f['minimal']}`", "",
                f"Found as `{f['expression']}`; minimal form above. Reproduce:", "",
                f"    adcheck check '{f['minimal']}' --at {at}" + (f" {result['engine_options']}"
                                                                    if result.get("engine_options") else ""), ""]
        rows = [[r["backend"], r["grad"], r["oracle_grad"], r["note"]] for r in f["records"]]
        out += [tabulate(rows, ["backend", "gradient", "oracle", "why"], tablefmt="github"), ""]
    return "\n".join(out) + "\n"


def write(result: dict, out: Path) -> Path:
    path = out / "fuzz.md"
    write_atomic(path, render(result))
    return path
