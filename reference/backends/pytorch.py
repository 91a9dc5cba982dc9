"""PyTorch autograd on float64 tensors; each op is the registry row's ``torch`` counterpart."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from reference.backends.base import Backend, namespace


def _t(x):
    return x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64)


def _torch_op(rule):
    if rule.systems.torch is None:
        return None
    n = rule.arity
    return lambda *args: rule.systems.torch(torch, *[_t(a) for a in args[:n]], *args[n:])


TORCH = namespace(_torch_op, "torch")


class TorchBackend(Backend):
    name = "torch"
    method = "reverse-mode AD (PyTorch, float64)"
    rtol = 1e-10
    hessian_method = "torch.autograd.functional.hessian (reverse over reverse, float64)"
    hessian_rtol = 1e-10

    def _compute(self, case, point):
        xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
        out = case.fn(TORCH, *xs)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return float(out), [0.0] * len(xs), None
        grads = torch.autograd.grad(out, xs, allow_unused=True)
        return out.item(), [0.0 if g is None else g.item() for g in grads], None

    def _hessian(self, case, point) -> list[list[float]]:
        """``torch.autograd.functional.hessian`` over 0-d float64 tensors (reverse over reverse)."""
        return torch_hessian(case, point)


def torch_hessian(case, point: Sequence[float], fn: Callable | None = None) -> list[list[float]]:
    """``torch.autograd.functional.hessian`` over 0-d float64 tensors (``fn``: a torch function instead of the case)."""
    n = len(point)
    call = fn if fn is not None else (lambda *ts: case.fn(TORCH, *ts))

    def f(*ts):
        out = call(*ts)
        return out if isinstance(out, torch.Tensor) else torch.tensor(float(out), dtype=torch.float64)

    xs = tuple(torch.tensor(float(x), dtype=torch.float64) for x in point)
    if n == 0:
        return []
    h = torch.autograd.functional.hessian(f, xs)
    return [[float(h[i][j]) for j in range(n)] for i in range(n)]
