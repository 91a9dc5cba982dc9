"""Starting worker processes safely from whatever process we are in."""
from __future__ import annotations

import multiprocessing
import sys

# Systems that run threads of their own once imported: forking a process that holds them can deadlock
# the child (JAX says so at every fork), so their presence switches workers to a fork server.
_THREADED = ("jax", "jaxlib", "tinygrad")


def pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` (fast, workers inherit what is imported) unless a threaded system is loaded here."""
    threaded = any(name in sys.modules for name in _THREADED)
    return multiprocessing.get_context("forkserver" if threaded else "fork")
