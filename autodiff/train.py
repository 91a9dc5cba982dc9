"""Training loops: ``fit`` a model to data, ``predict`` with it."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .engine import Value
from .losses import LOSSES
from .optim import SGD, Optimizer

__all__ = ["batches", "fit", "predict"]


def batches(n: int, batch_size: int | None, rng: random.Random | None) -> list[list[int]]:
    """Index lists for one epoch: all of 0..n-1 (shuffled when rng is given) cut into batches."""
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = n if batch_size is None else batch_size
    if size < 1:
        raise ValueError(f"batch_size must be None or at least 1, got {batch_size}")
    return [order[i:i + size] for i in range(0, n, size)]


def _as_inputs(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fit(model, X: Sequence, y: Sequence, loss: str | Callable = "mse", optimizer: Optimizer | None = None,
        epochs: int = 100, batch_size: int | None = None, seed: int | random.Random | None = 0,
        callback: Callable[[int, float], None] | None = None) -> list[float]:
    """Train in place; returns the mean batch loss of each epoch.

    ``batch_size=None`` is full batch, 1 is stochastic. Batches are shuffled with
    ``random.Random(seed)``, or with ``seed`` itself when it is a ``random.Random``
    (so that several calls continue one sequence); ``seed=None`` keeps the data order.
    """
    if len(X) != len(y) or not X:
        raise ValueError(f"{len(X)} inputs for {len(y)} targets")
    loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
    optimizer = optimizer or SGD(model.parameters(), lr=0.05)
    rng = seed if isinstance(seed, random.Random) else (random.Random(seed) if seed is not None else None)
    history = []
    for epoch in range(epochs):
        total, parts = 0.0, 0
        for idx in batches(len(X), batch_size, rng):
            predictions = [model(_as_inputs(X[i])) for i in idx]
            value: Value = loss_fn(predictions, [y[i] for i in idx])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            total, parts = total + value.data, parts + 1
        history.append(total / parts)
        if callback is not None:
            callback(epoch, history[-1])
    return history


def predict(model, X: Sequence) -> list:
    """The model's output for each input, as floats (or lists of floats)."""
    out = []
    for x in X:
        p = model(_as_inputs(x))
        out.append(p.data if isinstance(p, Value) else [v.data for v in p])
    return out
