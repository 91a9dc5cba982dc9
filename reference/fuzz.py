"""Differential fuzzing: random expressions through engine, torch and SymPy; disagreements minimized."""
from __future__ import annotations

import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tabulate import tabulate

from .strategies import minimize, random_point, random_tree, text

FUZZ_BACKENDS = ("torch", "sympy")


def disagreement(tree, point: dict, engine: str | None = None) -> list[dict]:
    """The failing records of one expression (empty when every backend agrees)."""
    from .testing import check_gradients
    used = _used(tree, point)
    if not used:
        return []
    return check_gradients(text(tree), used, FUZZ_BACKENDS, engine=engine).failures


def _used(tree, point: dict) -> dict:
    from .expr import parse
    return {v: point[v] for v in parse(text(tree))[0]}


def _check(job) -> dict | None:
    index, tree, point, engine = job
    failures = disagreement(tree, point, engine)
    if not failures:
        return None
    small = minimize(tree, lambda t: bool(disagreement(t, point, engine)))
    final = disagreement(small, point, engine)
    used = _used(small, point)
    return {"index": index, "expression": text(tree), "minimal": text(small), "point": used,
            "backends": sorted({r["backend"] for r in final}),
            "records": [{k: r[k] for k in ("backend", "grad", "oracle_grad", "note")} for r in final]}


def fuzz(budget: int, seed: int = 0, workers: int = 1, engine: str | None = None, depth: int = 4,
         progress=None) -> dict:
    """Check ``budget`` random expressions drawn from ``seed``; the findings are the same for a seed."""
    rng = random.Random(seed)
    jobs = [(i, random_tree(rng, depth), random_point(rng), engine) for i in range(budget)]
    start = time.perf_counter()
    results = []
    with ProcessPoolExecutor(workers) if workers > 1 else _InProcess() as pool:
        for i, result in enumerate(pool.map(_check, jobs, chunksize=8)):
            results.append(result)
            if progress and ((i + 1) % 10 == 0 or i + 1 == budget):
                progress(i + 1, budget, f"{sum(1 for r in results if r)} found")
    seconds = time.perf_counter() - start
    return {"budget": budget, "seed": seed, "engine": getattr(engine, "text", engine) or "autodiff.engine.Value",
            "engine_options": " ".join(getattr(engine, "options", [])),
            "findings": [r for r in results if r], "seconds": seconds}


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
    out = ["# Differential fuzzing", "",
           f"{result['budget']} random expressions (seed {result['seed']}) through the engine "
           f"(`{result['engine']}`), torch and SymPy, each judged against the 50-digit oracle; "
           f"{len(result['findings'])} disagreement(s). Took {result['seconds']:.1f} s "
           f"({result['budget'] / result['seconds']:.1f} expressions per second).", ""]
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
    from .report import write_atomic
    path = out / "fuzz.md"
    write_atomic(path, render(result))
    return path
