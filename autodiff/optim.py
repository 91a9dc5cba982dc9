"""Optimisers that follow torch.optim's update formulas operation for operation."""
from __future__ import annotations

import math
from collections.abc import Iterable

from .engine import Value

__all__ = ["SGD", "Adam", "Momentum", "Optimizer"]


class Optimizer:
    """Holds the parameters; ``step()`` updates them from their ``.grad``."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p <- p - lr * g."""

    def step(self) -> None:
        lr = self.lr
        for p in self.params:
            p.data -= lr * p.grad


class Momentum(Optimizer):
    """torch.optim.SGD with momentum (dampening 0): b <- beta*b + g; p <- p - lr*(b or g + beta*b)."""

    def __init__(self, params: Iterable[Value], lr: float, beta: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.beta = beta
        self.nesterov = nesterov
        self.buffers: list[float] | None = None

    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if self.buffers is None:  # torch starts the buffer at the first gradient
            self.buffers = list(grads)
        else:
            self.buffers = [self.beta * b + g for b, g in zip(self.buffers, grads)]
        for p, g, b in zip(self.params, grads, self.buffers):
            p.data -= self.lr * (g + self.beta * b if self.nesterov else b)


class Adam(Optimizer):
    """torch.optim.Adam (no weight decay, no amsgrad), same operation order."""

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.betas = betas
        self.eps = eps
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        beta1, beta2 = self.betas
        self.t += 1
        step_size = self.lr / (1 - beta1 ** self.t)
        correction2_sqrt = math.sqrt(1 - beta2 ** self.t)
        for i, p in enumerate(self.params):
            g = p.grad
            m = self.m[i]
            # torch's lerp(m, g, w) with w = 1 - beta1 < 0.5 computes m + w * (g - m).
            m = m + (1 - beta1) * (g - m) if 1 - beta1 < 0.5 else g - (g - m) * beta1
            v = self.v[i] * beta2 + (1 - beta2) * g * g
            self.m[i], self.v[i] = m, v
            p.data += -step_size * (m / (math.sqrt(v) / correction2_sqrt + self.eps))
