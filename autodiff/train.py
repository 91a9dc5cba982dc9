"""Training loops: ``fit`` a model to data, ``predict`` with it."""
from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext

from .engine import Value
from .losses import LOSSES
from .optim import SGD, Optimizer

__all__ = ["batches", "collector_paused", "fit", "predict"]


def batches(n: int, batch_size: int | None, rng: random.Random | None) -> list[list[int]]:
    """Index lists for one epoch: all of 0..n-1 (shuffled when rng is given) cut into batches."""
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = n if batch_size is None else batch_size
    if size < 1:
        raise ValueError(f"batch_size must be None or at least 1, got {batch_size}")
    return [order[i:i + size] for i in range(0, n, size)]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Training's collector policy: Python's cyclic collector off inside the block, a young pass on leaving.

    The engine's graphs hold no reference cycles, so reference counting frees each step's graph
    the moment it is dropped. What the cyclic collector does during training is pay for it: each
    step's tens of thousands of live nodes are promoted to the oldest generation, which soon
    triggers a full pass over every object in the process (all of torch's and SymPy's when they are
    imported). ``fit`` trains inside this block; wrap a hand-written loop in it for the same effect.
    Leaving the block collects the youngest generation (cycles a callback made) and restores the
    collector as it was.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.collect(0)
            gc.enable()


def _as_inputs(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fit(model, X: Sequence, y: Sequence, loss: str | Callable = "mse", optimizer: Optimizer | None = None,
        epochs: int = 100, batch_size: int | None = None, seed: int | random.Random | None = 0,
        callback: Callable[[int, float], None] | None = None, compiled: bool = False,
        collector: str = "pause") -> list[float]:
    """Train in place; returns the mean batch loss of each epoch.

    ``batch_size=None`` is full batch, 1 is stochastic. Batches are shuffled with
    ``random.Random(seed)``, or with ``seed`` itself when it is a ``random.Random``
    (so that several calls continue one sequence); ``seed=None`` keeps the data order.

    ``compiled=True`` traces the loss graph once per batch size (inputs and targets as fed
    leaves, see ``autodiff.compile``) and replays the generated code for every later batch of
    that size: the same losses, parameters and gradients, bit for bit, without building nodes.
    It needs a model and loss whose graph does not depend on the values (this package's MLPs
    and losses qualify).

    ``collector="pause"`` (the default) trains inside ``collector_paused()``: the cyclic garbage
    collector is off while training (the engine's graphs have no reference cycles, so reference
    counting frees each step's graph as before) and its passes over every live object no longer
    cost a share of each step; a young-generation collection after each epoch reclaims any cycles
    a callback or custom loss made. ``collector="default"`` leaves the collector as it is.
    """
    if len(X) != len(y) or not X:
        raise ValueError(f"{len(X)} inputs for {len(y)} targets")
    if collector not in ("pause", "default"):
        raise ValueError(f"collector must be 'pause' or 'default', got {collector!r}")
    loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
    optimizer = optimizer or SGD(model.parameters(), lr=0.05)
    rng = seed if isinstance(seed, random.Random) else (random.Random(seed) if seed is not None else None)
    step = _CompiledStep(model, loss_fn) if compiled else None
    history = []
    paused = collector == "pause" and gc.isenabled()
    with collector_paused() if paused else nullcontext():
        for epoch in range(epochs):
            total, parts = 0.0, 0
            for idx in batches(len(X), batch_size, rng):
                optimizer.zero_grad()
                value = step(X, y, idx) if step is not None else _backward_step(model, loss_fn, X, y, idx)
                optimizer.step()
                total, parts = total + value, parts + 1
            history.append(total / parts)
            if paused and epoch + 1 < epochs:
                gc.collect(0)  # cycles a callback or custom loss made (the last pass is on leaving)
            if callback is not None:
                callback(epoch, history[-1])
    return history


def _backward_step(model, loss_fn, X: Sequence, y: Sequence, idx: list[int]) -> float:
    """Forward, loss and backward of one batch; the loss as a float. The graph is freed on return,
    so no collector pass after it has the step's nodes to walk."""
    loss_value: Value = loss_fn([model(_as_inputs(X[i])) for i in idx], [y[i] for i in idx])
    loss_value.backward()
    return loss_value.data


class _CompiledStep:
    """Loss and gradients of one batch by replaying a traced graph (one per batch size)."""

    def __init__(self, model, loss_fn) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.params = model.parameters()
        self.traced: dict[int, object] = {}

    def _trace(self, rows: list, targets: list):
        from .compile import compile_gradient
        leaves = [[Value(v) for v in row] for row in rows]
        target_leaves = [Value(t) for t in targets]
        value = self.loss_fn([self.model(xs) for xs in leaves], target_leaves)
        feed = [v for xs in leaves for v in xs] + target_leaves
        return compile_gradient(value, self.params, feed=feed)

    def __call__(self, X, y, idx) -> float:
        rows = [_as_inputs(X[i]) for i in idx]
        targets = [y[i] for i in idx]
        cg = self.traced.get(len(idx))
        if cg is None:
            cg = self.traced[len(idx)] = self._trace(rows, targets)
        values = [p.data for p in self.params]
        for row in rows:
            values.extend(row)
        values.extend(targets)
        value, grads = cg(values)
        for p, g in zip(self.params, grads):
            p.grad += g  # as backward() does into the zeroed leaves
        return value


def predict(model, X: Sequence) -> list:
    """The model's output for each input, as floats (or lists of floats)."""
    out = []
    for x in X:
        p = model(_as_inputs(x))
        out.append(p.data if isinstance(p, Value) else [v.data for v in p])
    return out
