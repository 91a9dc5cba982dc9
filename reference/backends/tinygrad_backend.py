"""tinygrad in float64 on its CPU device (kernels compiled by clang), first and second order by ``Tensor.gradient``.

Inputs are float64 data tensors (``Tensor([x], dtype=dtypes.float64).reshape(())``), as a reader's data
is, so the kernels run rather than being folded away as constants. The kernels are compiled for the
baseline x86-64 instruction set (no FMA), so the numbers are the same on any x86-64 CPU.
tinygrad differentiates its few primitive UOps (``tinygrad/mixin/gradient.py``: SIN, EXP2, LOG2, SQRT,
RECIPROCAL, MAX, WHERE, POW, MUL...); every other function is built from them in
``tinygrad/mixin/elementwise.py``, so its derivative is the chain rule through that construction.
"""
from __future__ import annotations

import platform

from tinygrad import Tensor, dtypes
from tinygrad.helpers import DEV

from reference.backends.base import Backend
from reference.backends.external import system_namespace

if platform.machine().lower() in ("x86_64", "amd64"):
    DEV.value = "CPU:CLANG:x86_64,x86-64"  # baseline x86-64: no FMA contraction, the same bits on every CPU
DEVICE = str(DEV)

IMPORTS = "from tinygrad import Tensor, dtypes"



def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(float(x), dtype=dtypes.float64)


TINYGRAD = system_namespace("tinygrad", Tensor, wrap=_tensor)


def _inputs(point) -> list[Tensor]:
    return [Tensor([float(x)], dtype=dtypes.float64).reshape(()) for x in point]


class TinygradBackend(Backend):
    """Tensor.gradient (reverse mode) on float64 data tensors, CPU device; the Hessian is gradient of gradient."""

    name = "tinygrad"
    method = f"tinygrad: Tensor.gradient on float64 tensors, device {DEVICE or 'CPU'} (clang)"
    rtol = 1e-10
    imports = IMPORTS

    def _compute(self, case, point):
        xs = _inputs(point)
        out = case.fn(TINYGRAD, *xs)
        if not isinstance(out, Tensor):
            return float(out), [0.0] * len(xs), None
        grads = out.gradient(*xs)
        Tensor.realize(out, *grads)
        return float(out.item()), [float(g.item()) for g in grads], None

    def _hessian(self, case, point) -> list[list[float]]:
        """Tensor.gradient of each partial: H[i][j] = d/dx_j of df/dx_i."""
        xs = _inputs(point)
        n = len(xs)
        out = case.fn(TINYGRAD, *xs)
        if not isinstance(out, Tensor):
            return [[0.0] * n for _ in range(n)]
        rows = [g.gradient(*xs) for g in out.gradient(*xs)]
        Tensor.realize(*[h for row in rows for h in row])
        return [[float(h.item()) for h in row] for row in rows]
