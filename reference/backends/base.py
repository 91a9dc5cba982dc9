"""What every backend shares: the result record, the interface, and helpers."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autodiff.rules import RULES, Rule
from reference.core.errors import Unsupported

if TYPE_CHECKING:
    from reference.corpus.cases import Case

OK, UNSUPPORTED, ERROR = "ok", "unsupported", "error"

# The functions a case may call on its math namespace ``m`` (operators are used directly):
# every registry row that is a function rather than an operator.
FUNCTIONS = tuple(rule.name for rule in RULES.values() if rule.spelling.method)


@dataclass
class Result:
    """One backend's answer for one case at one point."""

    backend: str
    status: str
    value: float = math.nan
    grad: dict[str, float] = field(default_factory=dict)
    message: str = ""
    error_estimate: dict[str, float] | None = None  # the method's own estimate, where it has one
    seconds: float = 0.0
    # For status ERROR, what went wrong: "raises" (the code raised an exception; ``exception``
    # names its type), "crash" (the process died: exit code or signal in ``message``), "timeout".
    kind: str = ""
    exception: str = ""
    # At order 2: H[i][j] = d/dx_j of df/dx_i (value and grad then stay unset: the order-1 result has them).
    hessian: list[list[float]] = field(default_factory=list)


class Backend:
    """Evaluates a case's value and gradient at a point (order 1), or its Hessian (order 2).

    ``rtol`` is the tolerance of the method against the oracle. ``error_floor`` is the
    smallest scale its errors are measured against: a tiny number for exact and AD methods
    (their error is relative to the answer), 1 for finite differences (their steps are sized
    at unit scale, so their error is absolute below it).
    """

    name: str = ""
    method: str = ""
    subject: bool = False  # the thing under test (the engine): its errors fail a run; a reference's are findings
    rtol: float = 1e-10
    error_floor: float = 1e-300
    # At order 2 (a backend with its own ``_hessian``): how the Hessian is computed, in words ('': as
    # ``method``), and that method's tolerance (None: ``rtol``).
    hessian_method: str = ""
    hessian_rtol: float | None = None

    def evaluate(self, case: Case, point: tuple[float, ...], order: int = 1) -> Result:
        """Value and gradient of ``case`` at ``point`` (``order=2``: its Hessian), never raising."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        start = time.perf_counter()
        try:
            if order == 1:
                value, grad, estimate = self._compute(case, point)
                result = Result(self.name, OK, float(value), {v: float(g) for v, g in zip(case.variables, grad)},
                                error_estimate=estimate)
            else:
                h = self._hessian(case, tuple(point))
                result = Result(self.name, OK, hessian=[[float(v) for v in row] for row in h])
        except Unsupported as err:
            result = Result(self.name, UNSUPPORTED, message=str(err))
        except Exception as err:  # what the backend's own system throws (torch, SymPy, the engine under test,
            # a subject's callable) is that backend's error record: one failing on one case must not stop the others
            result = Result(self.name, ERROR, message=f"{type(err).__name__}: {err}".strip(), kind="raises",
                            exception=type(err).__name__)
        result.seconds = time.perf_counter() - start
        return result

    def _compute(self, case: Case, point: tuple[float, ...]):
        """Return (value, [partials in case.variables order], error estimate or None)."""
        raise NotImplementedError

    def _hessian(self, case: Case, point: tuple[float, ...]) -> list[list[float]]:
        """H[i][j] = d/dx_j of df/dx_i as this backend computes it (raise Unsupported where it cannot)."""
        raise Unsupported(f"{self.name} has no second-order method")

    @property
    def has_hessian(self) -> bool:
        """Whether this backend's class gives its own ``_hessian``."""
        return offers_hessian(type(self))

    def method_at(self, order: int) -> tuple[str, float]:
        """(the method in words, its rtol) at ``order``."""
        if order == 1:
            return self.method, self.rtol
        return (self.hessian_method or self.method,
                self.rtol if self.hessian_rtol is None else self.hessian_rtol)

    def __repr__(self) -> str:
        return f"<backend {self.name}: {self.method}>"


def is_finite_difference(backend: Backend | type) -> bool:
    """A finite-difference method (a backend or its class): its errors are absolute below unit scale."""
    return backend.error_floor >= 1.0


def offers_hessian(cls: type) -> bool:
    """Whether a backend class gives its own ``_hessian`` (only such backends get order-2 records)."""
    return cls._hessian is not Backend._hessian


def namespace(implement: Callable[[Rule], Callable | None], name: str = "Namespace") -> type:
    """A math namespace with one function per registry row that a case can call.

    ``implement(rule)`` gives the backend's function of (*inputs, *params), or None when the
    backend has no such op (calling it raises Unsupported). Params left out take the row's defaults.
    """
    attrs = {}
    for rule in RULES.values():
        if not rule.spelling.method:
            continue
        fn = implement(rule)
        if fn is None:
            def fn(*_, _name=rule.name, _backend=name):
                raise Unsupported(f"{_backend} has no {_name}")
        elif rule.defaults:
            fn = _with_defaults(fn, rule)
        attrs[rule.name] = staticmethod(fn)
    return type(name, (), attrs)


def _with_defaults(fn: Callable, rule: Rule) -> Callable:
    wanted = rule.arity + len(rule.params)

    def call(*args):
        missing = wanted - len(args)
        if missing > 0:
            args = (*args, *rule.defaults[len(rule.defaults) - missing:])
        return fn(*args)

    return call
