"""PyTorch autograd on float64 tensors; each op is the registry row's ``torch`` counterpart."""
from __future__ import annotations

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

    def _compute(self, case, point):
        xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
        out = case.fn(TORCH, *xs)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return float(out), [0.0] * len(xs), None
        grads = torch.autograd.grad(out, xs, allow_unused=True)
        return out.item(), [0.0 if g is None else g.item() for g in grads], None
