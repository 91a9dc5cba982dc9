"""A Dask distributed cluster (``--scheduler ADDRESS``): connecting, and mapping jobs in order.

Jobs travel as plain data and functions by name, so the cluster's workers need the same environment
as this process.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

__all__ = ["SchedulerError", "connect", "map_ordered", "scheduler_address"]


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
