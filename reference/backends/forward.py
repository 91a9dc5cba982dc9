"""The engine in forward mode: ``autodiff.jvp`` along each input direction in turn; at order 2, forward
over reverse (one tangent sweep per input through the graph of ``grad(create_graph=True)``)."""
from __future__ import annotations

from autodiff import Value, grad, jvp
from autodiff.engine import VALUE_MATH
from autodiff.forward import TangentSweep
from reference.backends.base import Backend


class ForwardBackend(Backend):
    name = "forward"
    method = "forward-mode AD (the engine's jvp, one sweep per input)"
    rtol = 1e-10
    subject = True  # the engine under test, through its other mode
    hessian_method = ("forward over reverse: the engine's forward sweep (jvp) through the graph of "
                      "grad(create_graph=True), one sweep per input")
    hessian_rtol = 1e-10

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

    def _hessian(self, case, point) -> list[list[float]]:
        """Forward over reverse: one forward sweep per input through the gradient's graph; H[i][j] from sweep j."""
        xs = [Value(float(x)) for x in point]
        out = case.fn(VALUE_MATH, *xs)
        n = len(xs)
        if not isinstance(out, Value):
            return [[0.0] * n for _ in range(n)]
        sweep = TangentSweep(grad(out, xs, create_graph=True), xs)
        columns = []
        for j in range(n):
            e = [0.0] * n
            e[j] = 1.0
            columns.append(sweep(e))
        return [[columns[j][i] for j in range(n)] for i in range(n)]
