"""One training step of MLP(2, [16, 16, 1]) by each peer (the engine as fit runs it, a hand-written loop,
the compiled mode, micrograd, torch), taking turns round by round, and the engine's step phase by phase."""
from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable

from autodiff import MLP, SGD, Value, fit
from autodiff.compile import compile_gradient
from autodiff.engine import _LOOPS, _interior_order
from autodiff.losses import mse
from reference.bench.timing import in_fresh_process, spread

WIDTHS = [2, 16, 16, 1]


def _data(batch: int, seed: int = 0):
    rng = random.Random(seed)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(batch)]
    Y = [rng.uniform(-1, 1) for _ in range(batch)]
    return X, Y


def step_engine(batch: int) -> Callable[[], None]:
    """One training step of this engine as ``fit`` runs it: full batch, one epoch (so the
    collector policy of training, ``autodiff.collector_paused``, is part of the step)."""
    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    opt = SGD(model.parameters(), lr=0.01)

    def step():
        fit(model, X, Y, loss="mse", optimizer=opt, epochs=1, batch_size=None, seed=None)
    return step


def step_engine_loop(batch: int) -> Callable[[], None]:
    """The same step as a hand-written loop: forward, MSE, backward, SGD update, and no collector policy."""
    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    opt = SGD(model.parameters(), lr=0.01)

    def step():
        loss = mse([model(x) for x in X], Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


COMPILE_SECONDS: dict[str, float] = {}  # peer -> seconds to trace and generate its program (once)


def step_compiled(batch: int) -> Callable[[], None]:
    """The same step replayed by compiled mode: the loss graph traced once (data as fed leaves), then
    straight-line code from the rules gives loss and gradients; the same SGD update."""
    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    params = model.parameters()
    opt = SGD(params, lr=0.01)
    start = time.perf_counter()
    xs = [[Value(v) for v in x] for x in X]
    ys = [Value(y) for y in Y]
    cg = compile_gradient(mse([model(x) for x in xs], ys), params, feed=[v for x in xs for v in x] + ys)
    COMPILE_SECONDS["compiled (straight-line Python)"] = time.perf_counter() - start
    data = [v for x in X for v in x] + Y

    def step():
        _, grads = cg([p.data for p in params] + data)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
    return step


def step_compiled_batch(batch: int) -> Callable[[], None]:
    """The same step by compiled mode's NumPy batch program: one sample's loss traced once, run over
    the batch as arrays; the mean of the per-sample gradients, the same SGD update."""
    import numpy as np

    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    params = model.parameters()
    start = time.perf_counter()
    x, y = [Value(0.0), Value(0.0)], Value(0.0)
    cg = compile_gradient((model(x) - y) ** 2, params, feed=[*x, y])
    rows = np.array([[p.data for p in params] + list(xi) + [yi] for xi, yi in zip(X, Y)])
    cg.batch(rows[:1])  # generates the batch program
    COMPILE_SECONDS["compiled, NumPy batch"] = time.perf_counter() - start
    k = len(params)
    weights = rows[0, :k].copy()

    def step():
        rows[:, :k] = weights
        _, grads = cg.batch(rows)
        weights[:] -= 0.01 * grads.mean(axis=0)
    return step


def step_micrograd(batch: int) -> Callable[[], None]:
    """The same step with micrograd 0.1.0 (tanh is not in it: relu hidden layers, the same size)."""
    from micrograd.engine import Value
    from micrograd.nn import MLP
    X, Y = _data(batch)
    random.seed(0)
    model = MLP(WIDTHS[0], WIDTHS[1:])

    def step():
        preds = [model(x) for x in X]
        loss = sum(((p - y) ** 2 for p, y in zip(preds, Y)), Value(0.0)) * (1.0 / len(X))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.01 * p.grad
    return step


def step_torch_scalar(batch: int) -> Callable[[], None]:
    """The same step with PyTorch 0-d float64 tensors, scalar by scalar (1 thread)."""
    import torch
    X, Y = _data(batch)
    g = torch.Generator().manual_seed(0)
    layers = []
    for nin, nout in zip(WIDTHS, WIDTHS[1:]):
        bound = 1 / nin ** 0.5
        layers.append([([(torch.rand((), generator=g, dtype=torch.float64) * 2 - 1).mul_(bound).requires_grad_()
                         for _ in range(nin)],
                        (torch.rand((), generator=g, dtype=torch.float64) * 2 - 1).mul_(bound).requires_grad_())
                       for _ in range(nout)])
    params = [p for layer in layers for w, b in layer for p in [*w, b]]
    opt = torch.optim.SGD(params, lr=0.01)
    Xt = [[torch.tensor(v, dtype=torch.float64) for v in x] for x in X]

    def forward(x):
        for depth, layer in enumerate(layers):
            out = []
            for w, b in layer:
                s = b
                for wi, xi in zip(w, x):
                    s = s + wi * xi
                out.append(s if depth == len(layers) - 1 else torch.tanh(s))
            x = out
        return x[0]

    def step():
        torch.set_num_threads(1)
        loss = sum(((forward(x) - y) ** 2 for x, y in zip(Xt, Y)), torch.zeros((), dtype=torch.float64)) / len(Xt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _torch_batched(threads: int):
    def make(batch: int) -> Callable[[], None]:
        import torch
        X, Y = _data(batch)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                    torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        Xt, Yt = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64).unsqueeze(1)

        def step():
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            loss = torch.nn.functional.mse_loss(model(Xt), Yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step
    make.__doc__ = f"The same step with nn.Linear layers in float64, the batch as one tensor, {threads} thread(s)."
    return make


ENGINE = "autodiff: fit, one step"


LOOP = "autodiff: hand-written loop"


PEERS = {ENGINE: step_engine, LOOP: step_engine_loop, "micrograd 0.1.0": step_micrograd,
         "torch, 0-d tensors (1 thread)": step_torch_scalar,
         "torch, batched nn.Linear, 1 thread": _torch_batched(1),
         "torch, batched nn.Linear, 2 threads": _torch_batched(2),
         "compiled (straight-line Python)": step_compiled, "compiled, NumPy batch": step_compiled_batch}


MODES = ("consecutive", "gc_off")


def _steps_per_sample(step: Callable[[], None], consecutive: int) -> int:
    """``consecutive`` steps, or more for a fast peer: enough for about 20 ms per sample."""
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    return max(consecutive, min(200, int(0.02 / max(once, 1e-6))))


def _sample(step: Callable[[], None], count: int, mode: str) -> float:
    """Mean seconds per step over ``count`` steps in a row, after one untimed step, in ``mode``."""
    gc.collect()  # every sample starts from the same collector state
    was = gc.isenabled()
    if mode == "gc_off":
        gc.disable()
    try:
        step()
        start = time.perf_counter()
        for _ in range(count):
            step()
        return (time.perf_counter() - start) / count
    finally:
        if was:
            gc.enable()


def _peer_round(name: str, batch: int, consecutive: int) -> tuple[int, float | None, dict]:
    """One round of one peer, in the fresh process it runs in: make its step, warm it up, then one
    sample per mode. Returns (steps per sample, seconds to trace and generate, {mode: seconds per step})."""
    step = PEERS[name](batch)
    count = _steps_per_sample(step, consecutive)
    # CPython 3.11 specializes a function's bytecode after 8 calls; the compiled peer's one function
    # is called once per step, so warm up with at least 10 steps (or 0.5 s for the slow peers, whose
    # functions run thousands of times in one step), collector off, before any sample.
    was = gc.isenabled()
    gc.disable()
    try:
        start, warm = time.perf_counter(), 0
        while warm < 10 and time.perf_counter() - start < 0.5:
            step()
            warm += 1
    finally:
        if was:
            gc.enable()
    return count, COMPILE_SECONDS.get(name), {mode: _sample(step, count, mode) for mode in MODES}


def bench_training_step(batch: int = 100, rounds: int = 9, consecutive: int = 5) -> list[dict]:
    """Every peer timed round by round, interleaved (so drift of the machine hits all alike).

    Each round of each peer runs in a process of its own, forked after torch, NumPy, SymPy and
    micrograd are imported (as in a notebook), one at a time: no peer is timed on a heap another
    one fragmented, and where a process happens to lay out its memory (which moves a step's time
    by tens of percent on a small machine) is averaged over the rounds instead of fixed for the
    run. In each: the step is made and warmed up, then one untimed step and ``consecutive`` steps
    in a row with the collector at its defaults (its passes, triggered by the allocations, are paid
    where they fall), and the same with the collector off; a sample is the mean time per step. Rows
    keep every sample; ratios to the engine are taken within each round.
    """
    import micrograd.engine  # noqa: F401  (every peer's process starts with all of these imported)
    import numpy  # noqa: F401
    import sympy  # noqa: F401
    import torch  # noqa: F401

    import autodiff  # noqa: F401
    samples = {name: {mode: [] for mode in MODES} for name in PEERS}
    counts: dict[str, list[int]] = {name: [] for name in PEERS}
    for _ in range(rounds):
        for name in PEERS:
            count, compile_s, got = in_fresh_process(_peer_round, name, batch, consecutive)
            counts[name].append(count)
            if compile_s is not None:
                COMPILE_SECONDS[name] = compile_s
            for mode in MODES:
                samples[name][mode].append(got[mode])
    rows = []
    for name in PEERS:
        row = {"peer": name, "steps": int(statistics.median(counts[name])), "compile_s": COMPILE_SECONDS.get(name),
               "batch": batch}
        for mode in MODES:
            mine, ours = samples[name][mode], samples[ENGINE][mode]
            row[mode] = spread(mine)
            row[f"{mode}_ratio"] = spread([m / o for o, m in zip(ours, mine)])  # time / engine's, per round
            row[f"{mode}_samples"] = mine
        rows.append(row)
    return rows


PHASES = ("build", "walk", "chain rule", "free", "update")


def bench_step_profile(batch: int = 100, repeats: int = 15) -> dict:
    """Where the engine's training step goes, collector off: median ms per phase, and the node count.

    build: forward and loss (the nodes are made); walk: ``backward``'s depth-first order of the
    op nodes; chain rule: every node's local step; free: dropping the graph (reference counting);
    update: zero_grad and the SGD step.
    """
    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    opt = SGD(model.parameters(), lr=0.01)
    times: dict[str, list[float]] = {phase: [] for phase in PHASES}
    nodes = 0
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            loss = mse([model(x) for x in X], Y)
            t1 = time.perf_counter()
            order = _interior_order(loss)  # what loss.backward() does, phase by phase
            loss.grad += 1.0
            t2 = time.perf_counter()
            _LOOPS["slot"](order, None)
            t3 = time.perf_counter()
            nodes = len(order)
            del order, loss
            t4 = time.perf_counter()
            opt.zero_grad()
            opt.step()
            t5 = time.perf_counter()
            if i:
                for phase, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                    times[phase].append(b - a)
    finally:
        if was:
            gc.enable()
    return {"nodes": nodes, "batch": batch, "repeats": repeats,
            "phases": {phase: statistics.median(v) for phase, v in times.items()}}
