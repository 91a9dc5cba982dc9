"""Timing with care: medians over repeats after a warm-up, the spread, a call in a fresh forked process."""
from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

from reference.core.processes import pool_context


def median_time(fn: Callable[[], object], repeats: int, gc_enabled: bool = True, setup=None,
                 number: int = 1) -> float:
    """Median wall time of fn() (each run calls it ``number`` times) over ``repeats`` runs after a warm-up."""
    times = []
    for i in range(repeats + 1):
        state = setup() if setup else None
        was = gc.isenabled()
        gc.collect()  # every run starts from the same collector state
        if not gc_enabled:
            gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(number):
                fn() if state is None else fn(state)
            elapsed = (time.perf_counter() - start) / number
        finally:
            if was:
                gc.enable()
        if i:
            times.append(elapsed)
    return statistics.median(times)


def spread(xs: list[float]) -> dict:
    """Median, quartiles and range of samples."""
    xs = sorted(xs)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "min": xs[0], "max": xs[-1], "n": len(xs)}


def _forked_call(conn, fn, args) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as err:
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def in_fresh_process(fn: Callable, *args):
    """fn(*args) in a process forked from this one: timed on a heap no earlier benchmark has churned
    (as each peer of the training step is), so a profile is comparable with the peers' rows."""
    ctx = pool_context()  # a fork, unless a threaded system (JAX) is loaded here
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=_forked_call, args=(theirs, fn, args), daemon=True)
    proc.start()
    theirs.close()
    try:
        status, result = mine.recv()
    finally:
        proc.join(timeout=10)
    if status != "ok":
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed: {result}")
    return result
