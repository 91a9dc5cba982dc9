"""The conformance harness: cases x points x backends, judged against the oracle.

It yields flat records (plain dicts, one per case, point and backend); the report
renders them and computes nothing.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from reference.backends import DEFAULT_BACKENDS, ERROR, OK, Backend, OracleBackend, Result, make_backends
from reference.core.budget import cpu_budget
from reference.core.errors import NoOracle
from reference.core.processes import pool_context
from reference.corpus.cases import Case, Point, by_name
from reference.judging.judge import (
    AGREE,
    CONVENTION,
    MISMATCH,
    RAISES,
    SUBJECT_FAILURES,
    UNDEFINED,
    UNJUDGED,
    UNSUPPORTED,
    VERDICTS,
    PointGraph,
    judge,
    known_limitation,
    record_identity,
)
from reference.judging.second_order import nested
from reference.judging.summary import describe_backends, overall_verdict, summarize
from reference.running.distributed import connect

__all__ = ["AGREE", "CONVENTION", "DEFAULT_BUDGET", "MISMATCH", "RAISES", "SUBJECT_FAILURES", "UNDEFINED",
           "UNJUDGED", "UNSUPPORTED", "VERDICTS", "describe_backends", "overall_verdict", "record",
           "run", "run_case", "summarize"]
DEFAULT_BUDGET = 60.0  # CPU seconds of SymPy work per case (ad-hoc expressions; the corpus oracle is stored)

def _oracle(case: Case, point: Point, order: int = 1, first: Result | None = None) -> Result:
    """The exact oracle at a point: stored for the corpus, derived now for anything else.

    At order 2 the exact Hessian, carrying ``first``'s gradient (the order-1 oracle's, where it has one):
    a finite difference's absolute floor at order 2 scales with |df/dx_i|.
    """
    result = OracleBackend().evaluate(case, point.values, order)
    if first is not None and first.status == OK:
        result.grad = dict(first.grad)
    return result


# The fields of a record at each order, in the order the JSON has them (after ``record_identity``'s).
FIELDS = {
    1: ("status", "kind", "verdict", "expected", "note", "value", "grad", "oracle_value", "oracle_grad", "errors",
        "tolerances", "chosen", "max_rel_err", "tolerance", "estimate", "message"),
    2: ("order", "method", "status", "kind", "verdict", "expected", "note", "value", "grad", "hessian",
        "oracle_value", "oracle_grad", "oracle_hessian", "errors", "tolerances", "max_rel_err", "tolerance",
        "message"),
}


def record(case: Case, point: Point, backend: Backend, result: Result, oracle: Result,
           graph: PointGraph | None = None, user: tuple[float, float] | None = None, order: int = 1) -> dict:
    """One flat record; numbers stay floats (nan and inf included) until the JSON boundary.

    An order-2 record (``"order": 2``) carries the Hessians (``"hessian"``, ``"oracle_hessian"``:
    ``{x: {y: H}}``, ``H[x][y]`` = d/dy of df/dx); its value and gradient are the order-1 record's.
    """
    graph = graph or PointGraph(case, point.values)
    j = judge(result, oracle, backend, case, point, graph, user, order)
    known = known_limitation(case, point, backend, order) if j.verdict == MISMATCH else ""
    method, rtol = backend.method_at(order)
    first = order == 1
    fields = {
        "order": order,
        "method": method,
        "status": result.status,
        "kind": result.kind,
        "verdict": j.verdict,
        "expected": bool(known),
        "note": known or j.note,
        "value": result.value,
        "grad": dict(result.grad),
        "hessian": nested(result.hessian, case) if result.status == OK else {},
        "oracle_value": oracle.value if first else math.nan,
        "oracle_grad": dict(oracle.grad) if first and oracle.status == OK else {},
        "oracle_hessian": nested(oracle.hessian, case) if oracle.status == OK else {},
        "errors": j.errors,
        "tolerances": j.tolerances,
        "chosen": j.chosen,
        "max_rel_err": j.worst,
        "tolerance": user[0] if user else rtol * case.tol,
        "estimate": dict(result.error_estimate or {}),
        "message": result.message if result.status != OK else "",
    }
    return {**record_identity(case, point, backend), **{k: fields[k] for k in FIELDS[order]}}


def run_case(case: Case, backends: list[Backend], budget: float | None = DEFAULT_BUDGET,
             user: tuple[float, float] | None = None, order: int = 1) -> list[dict]:
    """Every point of one case through every backend; SymPy's share is cut by ``budget``.

    ``order=2`` adds, after the order-1 records, one order-2 record (``"order": 2``, the Hessian
    judged entry by entry) per point and backend that has a Hessian (``Backend.has_hessian``).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    symbolic = {"sympy"}
    oracles: list[Result] = []
    sympy_results: dict[int, Result] = {}
    try:
        with cpu_budget(budget):
            for i, point in enumerate(case.points):
                oracles.append(_oracle(case, point))
                for b in backends:
                    if b.name in symbolic:
                        sympy_results[i] = b.evaluate(case, point.values)
    except NoOracle as err:
        timeout = Result("oracle", ERROR, message=f"timeout: {err}", kind="timeout")
        oracles += [timeout] * (len(case.points) - len(oracles))
        for i in range(len(case.points)):
            sympy_results.setdefault(i, Result("sympy", ERROR, message=f"timeout: {err}", kind="timeout"))
    graphs = [PointGraph(case, point.values) for point in case.points]
    records = []
    for k in range(1, order + 1):
        answering = backends if k == 1 else [b for b in backends if b.has_hessian]
        for i, point in enumerate(case.points):
            if not answering:
                break
            oracle = oracles[i] if k == 1 else _oracle(case, point, k, first=oracles[i])
            for b in answering:
                result = sympy_results[i] if k == 1 and b.name in symbolic else b.evaluate(case, point.values, k)
                records.append(record(case, point, b, result, oracle, graphs[i], user, k))
    return records


# -- running many cases, possibly in worker processes ---------------------------------------
_WORKER: dict = {}


def _die_with_parent(parent: int) -> None:
    """In a worker: stop when the parent dies (Linux: PR_SET_PDEATHSIG; everywhere: poll the parent pid)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    # The run's process, not necessarily our parent: a fork server starts workers for it.
    def gone() -> bool:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False

    if gone():  # the run ended before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if gone():
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="adcheck-parent-watch").start()


def _init_worker(backend_names, engine, budget, parent, order=1) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; a Ctrl-C reaches the whole group
    _WORKER.update(backends=make_backends(backend_names, engine), budget=budget, order=order)


def _run_named(name: str) -> list[dict]:
    return run_case(by_name(name), _WORKER["backends"], _WORKER["budget"], order=_WORKER.get("order", 1))


def case_size(case: Case) -> int:
    """How big a case's work is: nodes of its graph times its points (the biggest run first)."""
    values = next((p.values for p in case.points if all(math.isfinite(x) for x in p.values)), None)
    nodes = len(case.engine_nodes(values)) if values is not None else 1
    return max(1, nodes) * len(case.points) * max(1, len(case.variables))


class Terminated(Exception):
    """SIGTERM reached the main process: the pool was shut down."""


@contextmanager
def _sigterm_stops_the_pool(pool: ProcessPoolExecutor):
    """SIGTERM in the main thread: stop the workers, then raise Terminated."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop our own worker processes now (each by its pid), then release the pool."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=2)


_CLUSTER_BACKENDS: dict = {}  # per cluster worker process: (backend names, engine) -> backends, made once


def _run_on_worker(name: str, backend_names: tuple, engine: str | None, budget, order: int) -> list[dict]:
    """One case by name on a cluster worker (cases travel by name, backends are made once per worker)."""
    key = (backend_names, engine)
    if key not in _CLUSTER_BACKENDS:
        _CLUSTER_BACKENDS[key] = make_backends(backend_names, engine)
    return run_case(by_name(name), _CLUSTER_BACKENDS[key], budget, order=order)


def run_on_cluster(address: str, cases: Iterable, backend_names: tuple, engine: str | None = None, budget=None,
                   order: int = 1, progress: Callable[[int, int, str], None] | None = None) -> Iterator[list[dict]]:
    """Each case's records, computed on the cluster and yielded in the order of ``cases``."""
    cases = list(cases)
    client = connect(address)
    try:
        futures = [client.submit(_run_on_worker, c.name, tuple(backend_names), engine, budget, order,
                                 key=f"adcheck-case-{i}-{c.name}", priority=case_size(c), pure=False)
                   for i, c in enumerate(cases)]
        for i, future in enumerate(futures):
            yield future.result()
            if progress:
                progress(i + 1, len(cases), cases[i].name)
    finally:
        client.close()


def run(cases: Iterable[Case], backend_names=None, engine: str | None = None, workers: int = 1,
        budget: float | None = DEFAULT_BUDGET, progress: Callable[[int, int, str], None] | None = None,
        order: int = 1, scheduler: str | None = None) -> Iterator[list[dict]]:
    """Records of each case, in the order of ``cases`` whatever ``workers`` is.

    ``order=2`` adds each case's second-order records (Hessians) after its first-order ones.

    ``scheduler`` (a Dask scheduler's address) runs the cases on that cluster instead.

    With workers, the biggest cases are started first (so one big case does not finish last
    alone); results are still yielded in corpus order. SIGTERM, Ctrl-C or the caller dropping
    the iterator stop the workers; workers also stop when this process dies.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    names = tuple(backend_names or DEFAULT_BACKENDS)
    cases = list(cases)
    if scheduler:  # a Dask cluster does the work; the same records, in the same order
        make_backends(names, engine)  # fail fast, in this process, on bad names
        yield from run_on_cluster(scheduler, cases, names, engine, budget, order, progress)
        return
    if workers <= 1:
        backends = make_backends(names, engine)
        for i, case in enumerate(cases):
            yield run_case(case, backends, budget, order=order)
            if progress:
                progress(i + 1, len(cases), case.name)
        return
    make_backends(names, engine)  # fail fast, in this process, on bad names
    biggest_first = sorted(range(len(cases)), key=lambda i: -case_size(cases[i]))
    pool = ProcessPoolExecutor(workers, mp_context=pool_context(), initializer=_init_worker,
                               initargs=(names, engine, budget, os.getpid(), order))
    finished = False
    try:
        with _sigterm_stops_the_pool(pool):
            futures = {i: pool.submit(_run_named, cases[i].name) for i in biggest_first}
            for i in range(len(cases)):
                records = futures[i].result()
                yield records
                if progress:
                    progress(i + 1, len(cases), cases[i].name)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _kill_pool(pool)
