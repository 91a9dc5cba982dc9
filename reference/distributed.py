"""Work on a Dask distributed cluster (``--scheduler ADDRESS``): the same records as a local run.

Cases travel by name and jobs as plain data; every worker imports this package and builds its
own backends, so the cluster's workers need the same environment as this process.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

__all__ = ["SchedulerError", "connect", "map_ordered", "run_on_cluster", "scheduler_address"]

_BACKENDS: dict = {}  # per worker process: (backend names, engine) -> backends, made once


class SchedulerError(ValueError):
    """The cluster cannot be used (no dask.distributed, no scheduler at the address): one line for the user."""


def connect(address: str, timeout: float = 10.0):
    """A ``distributed.Client`` for ``address``; SchedulerError with one line if that cannot be done."""
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError("--scheduler needs dask.distributed: pip install 'adcheck[dask]'") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise SchedulerError(f"cannot reach a Dask scheduler at {address}: {err}") from None


def _run_named(name: str, backend_names: tuple, engine: str | None, budget, order: int) -> list[dict]:
    from .backends import make_backends
    from .cases import by_name
    from .harness import run_case
    key = (backend_names, engine)
    if key not in _BACKENDS:
        _BACKENDS[key] = make_backends(backend_names, engine)
    return run_case(by_name(name), _BACKENDS[key], budget, order=order)


def run_on_cluster(address: str, cases: Iterable, backend_names: tuple, engine: str | None = None, budget=None,
                   order: int = 1, progress: Callable[[int, int, str], None] | None = None) -> Iterator[list[dict]]:
    """Each case's records, computed on the cluster and yielded in the order of ``cases``."""
    from .harness import case_size
    cases = list(cases)
    client = connect(address)
    try:
        futures = [client.submit(_run_named, c.name, tuple(backend_names), engine, budget, order,
                                 key=f"adcheck-case-{i}-{c.name}", priority=case_size(c), pure=False)
                   for i, c in enumerate(cases)]
        for i, future in enumerate(futures):
            yield future.result()
            if progress:
                progress(i + 1, len(cases), cases[i].name)
    finally:
        client.close()


def map_ordered(scheduler, fn: Callable, items: Iterable) -> Iterator:
    """``fn(item)`` for each item on the cluster (``fn`` importable by name), yielded in order.

    ``scheduler``: an address (a client is made and closed here) or a ``distributed.Client`` (left open).
    """
    own = isinstance(scheduler, str)
    client = connect(scheduler) if own else scheduler
    try:
        for future in client.map(fn, list(items), pure=False):
            yield future.result()
    finally:
        if own:
            client.close()


def scheduler_address(scheduler) -> str:
    """The address of a scheduler given as an address or a client ('' for none)."""
    if not scheduler:
        return ""
    return scheduler if isinstance(scheduler, str) else getattr(scheduler.scheduler, "address", "") or ""
