"""Any callable as the subject: ``subject(*values) -> (value, [partials])``, checked in place of the engine.

At order 2 its Hessian is its own: a ``.hessian(*values)`` method on the callable, or a third return
value ``(value, partials, hessian)``; ``H[i][j]`` is d/dx_j of df/dx_i.
"""
from __future__ import annotations

from collections.abc import Callable

from reference.backends.base import Backend
from reference.core.errors import Unsupported

__all__ = ["SubjectBackend"]


class SubjectBackend(Backend):
    """Any callable ``subject(*values) -> (value, [partials])``, checked in place of the engine."""

    name = "subject"
    method = "the given subject callable"
    rtol = 1e-10
    subject = True
    hessian_method = "the subject's own Hessian (a callable's .hessian or a third return value)"
    hessian_rtol = 1e-10

    def __init__(self, fn: Callable, name: str = "subject") -> None:
        self.fn, self.name = fn, name
        self.label = getattr(fn, "__qualname__", repr(fn))

    def _compute(self, case, point):
        got = self.fn(*point)
        if isinstance(got, tuple) and len(got) == 3:  # (value, partials, hessian): the Hessian is order 2's
            got = got[:2]
        value, partials = got
        partials = list(partials)
        if len(partials) != len(case.variables):
            raise ValueError(f"the subject gave {len(partials)} partials for {len(case.variables)} variables")
        return float(value), [float(p) for p in partials], None

    def _hessian(self, case, point) -> list[list[float]]:
        fn = self.fn
        hess = getattr(fn, "hessian", None)
        if hess is not None:
            got = hess(*point)
            h = got[2] if isinstance(got, tuple) and len(got) == 3 else got
        else:
            got = fn(*point)
            if not (isinstance(got, tuple) and len(got) == 3):
                raise Unsupported("the subject gives no Hessian: give it a .hessian(*values) method or return "
                                  "(value, partials, hessian)")
            h = got[2]
        h = [[float(v) for v in row] for row in h]
        n = len(case.variables)
        if len(h) != n or any(len(row) != n for row in h):
            raise ValueError(f"the subject's Hessian is not {n} x {n}")
        return h
