"""The engine in forward mode: ``autodiff.jvp`` along each input direction in turn."""
from __future__ import annotations

from autodiff import jvp
from autodiff.engine import VALUE_MATH

from reference.backends.base import Backend


class ForwardBackend(Backend):
    name = "forward"
    method = "forward-mode AD (the engine's jvp, one sweep per input)"
    rtol = 1e-10
    subject = True  # the engine under test, through its other mode

    def _compute(self, case, point):
        value, grads = None, []
        for i in range(len(point)):
            tangent = [0.0] * len(point)
            tangent[i] = 1.0
            value, slope = jvp(lambda *xs: case.fn(VALUE_MATH, *xs), point, tangent)
            grads.append(slope)
        if value is None:  # no variables: just the value
            value, _ = jvp(lambda: case.fn(VALUE_MATH), [], [])
        return value, grads, None
