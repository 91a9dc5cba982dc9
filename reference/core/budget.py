"""CPU-time budgets for SymPy work: a signal on the main thread, deadlines checked by the oracle's own loops."""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager

from reference.core.errors import NoOracle

DEFAULT_BUDGET = 60.0  # CPU seconds of SymPy work for one ad-hoc case (the corpus oracle is stored)
MAX_BUDGET = 86400.0


# -- CPU-time budget -----------------------------------------------------------------------------
class _OutOfBudget(BaseException):
    """The CPU budget ran out (a BaseException, so SymPy's own handlers cannot swallow it)."""


def check_budget(budget) -> float | None:
    """A validated budget in CPU seconds (None: no limit); ValueError with one line otherwise."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise ValueError(f"budget must be a number of CPU seconds, got {budget!r}")
    budget = float(budget)
    if not (0 < budget <= MAX_BUDGET):  # also false for nan
        raise ValueError(f"budget must be more than 0 and at most {MAX_BUDGET:g} CPU seconds, got {budget!r}")
    return budget


@contextmanager
def cpu_budget(seconds: float | None):
    """Raise ``NoOracle`` in the block after ``seconds`` of CPU time (SIGPROF, main thread).

    Off the main thread only the oracle's own loops check the clock (``deadline()``).
    """
    seconds = check_budget(seconds)
    if seconds is None:
        yield
        return
    start = time.process_time()
    token = _Deadline(start + seconds)
    _DEADLINES.append(token)
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGPROF")
    previous_handler = previous_timer = None
    if main:
        def expire(signum, frame):
            raise _OutOfBudget()
        previous_handler = signal.signal(signal.SIGPROF, expire)
        previous_timer = signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    except _OutOfBudget:
        raise NoOracle(f"no oracle within the CPU budget of {seconds:g} s") from None
    finally:
        _DEADLINES.remove(token)
        if main:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous_handler)
            if previous_timer and previous_timer[0] > 0:  # an outer budget keeps running
                used = time.process_time() - start
                signal.setitimer(signal.ITIMER_PROF, max(previous_timer[0] - used, 1e-3))


class _Deadline:
    def __init__(self, at: float) -> None:
        self.at = at


_DEADLINES: list[_Deadline] = []


def deadline() -> None:
    """Raise NoOracle if an active budget has run out (checked between precisions)."""
    if _DEADLINES and time.process_time() > min(d.at for d in _DEADLINES):
        raise _OutOfBudget()
