"""Benchmarks against the peers, measured in one process run and reported as ratios.

Runs as ``adcheck bench`` or ``python -m reference.bench.measure``. Every figure is the median of
several repeats after a warm-up; the garbage collector runs at its default settings unless
a row says otherwise. Nothing here asserts a time: the numbers are for people.
"""
from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from tabulate import tabulate
from autodiff import MLP, SGD
from autodiff import Value
from autodiff import fit
from autodiff.compile import compile_gradient
from autodiff.engine import VALUE_MATH
from autodiff.engine import _LOOPS, _interior_order
from autodiff.losses import mse
from autodiff.rules import FLOAT as REAL
from reference.core.progress import Progress

WIDTHS = [2, 16, 16, 1]


def _median_time(fn: Callable[[], object], repeats: int, gc_enabled: bool = True, setup=None,
                 number: int = 1) -> float:
    """Median wall time of fn() (each run calls it ``number`` times) over ``repeats`` runs after a warm-up."""
    times = []
    for i in range(repeats + 1):
        state = setup() if setup else None
        was = gc.isenabled()
        gc.collect()  # every run starts from the same collector state
        if not gc_enabled:
            gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(number):
                fn() if state is None else fn(state)
            elapsed = (time.perf_counter() - start) / number
        finally:
            if was:
                gc.enable()
        if i:
            times.append(elapsed)
    return statistics.median(times)


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
            row[mode] = _spread(mine)
            row[f"{mode}_ratio"] = _spread([m / o for o, m in zip(ours, mine)])  # time / engine's, per round
            row[f"{mode}_samples"] = mine
        rows.append(row)
    return rows


def _spread(xs: list[float]) -> dict:
    """Median, quartiles and range of samples."""
    xs = sorted(xs)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "q1": q1, "q3": q3, "min": xs[0], "max": xs[-1], "n": len(xs)}


def _chain_engine(n: int):
    x = Value(0.5)
    v = x
    for _ in range(n):
        v = v * 1.0000001 + 1e-9
    return x, v


def _chain_micrograd(n: int):
    from micrograd.engine import Value
    x = Value(0.5)
    v = x
    for _ in range(n):
        v = v * 1.0000001 + 1e-9
    return x, v


def chain_memory(build: Callable[[int], tuple], n: int) -> float:
    """Bytes per node (two ops per link) held by a built graph, measured by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    graph = build(n)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del graph
    gc.collect()
    return used / (2 * n)


def bench_chain(sizes=(1_000, 10_000, 100_000, 1_000_000), repeats: int = 3) -> list[dict]:
    """Build + backward of a chain of 2n nodes; micrograd's recursive backward cannot go deep."""
    rows = []
    for n in sizes:
        def run_engine():
            _, out = _chain_engine(n)
            out.backward()
        row = {"nodes": 2 * n, "engine_s": _median_time(run_engine, repeats if n < 10 ** 6 else 1),
               "engine_bytes_per_node": chain_memory(_chain_engine, n) if n <= 100_000 else None}
        if n <= 100_000:
            row["micrograd_bytes_per_node"] = chain_memory(_chain_micrograd, n)
        if n <= 300:  # micrograd's backward recurses once per node
            def run_micrograd():
                _, out = _chain_micrograd(n)
                out.backward()
            row["micrograd_s"] = _median_time(run_micrograd, repeats)
        rows.append(row)
    return rows


def bench_unary_chain(sizes=(1_000, 10_000, 100_000, 1_000_000)) -> list[dict]:
    """v = sin(v), n times: exactly n op nodes and no constants. Time of build + backward, peak memory per node."""
    rows = []
    for n in sizes:
        def build_and_backward():
            x = Value(0.5)
            v = x
            for _ in range(n):
                v = v.sin()
            v.backward()
            return x
        seconds = _median_time(build_and_backward, 3 if n < 10 ** 6 else 1)
        gc.collect()
        tracemalloc.start()
        build_and_backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({"nodes": n, "seconds": seconds, "peak_bytes_per_node": peak / n})
    return rows


def _sum_of_products(m, xs):
    """f(x1..xn) = sum tanh(x_i * x_{i+1}) + x_n**2: every input matters, the graph is O(n)."""
    total = xs[-1] ** 2
    for a, b in zip(xs, xs[1:]):
        total = total + m.tanh(a * b)
    return total


def bench_gradient_cost(sizes=(1, 10, 100, 1000), sympy_limit: int = 100, repeats: int = 3) -> list[dict]:
    """Cost of a full gradient over the cost of one function value, as n grows (cheap-gradient principle)."""
    import types

    import sympy

    SYMPY = types.SimpleNamespace(tanh=sympy.tanh)
    rows = []
    for n in sizes:
        point = [0.1 + 0.8 * i / max(1, n - 1) for i in range(n)]
        floats = list(point)
        number = max(1, 2000 // n)  # tiny functions are timed over many calls
        t_f = _median_time(lambda: _sum_of_products(REAL, floats), repeats, number=number)

        def reverse():
            xs = [Value(x) for x in point]
            _sum_of_products(VALUE_MATH, xs).backward()
        t_rev = _median_time(reverse, repeats, number=number)
        t_value_engine = _median_time(lambda: _sum_of_products(VALUE_MATH, [Value(x) for x in point]), repeats,
                                      number=number)

        def central():
            h = 6e-6
            for i in range(n):
                up, down = list(floats), list(floats)
                up[i] += h
                down[i] -= h
                _sum_of_products(REAL, up) - _sum_of_products(REAL, down)
        t_fd = _median_time(central, 1 if n >= 1000 else repeats, number=max(1, number // n))
        row = {"n": n, "f_s": t_f, "engine_f_s": t_value_engine, "reverse_s": t_rev, "fd_central_s": t_fd}
        if n <= sympy_limit:
            symbols = [sympy.Symbol(f"x{i}", real=True) for i in range(n)]
            start = time.perf_counter()
            expr = _sum_of_products(SYMPY, symbols)
            grad_fn = sympy.lambdify(symbols, [sympy.diff(expr, s) for s in symbols], modules="numpy")
            row["sympy_derive_s"] = time.perf_counter() - start
            row["sympy_eval_s"] = _median_time(lambda: grad_fn(*floats), repeats, number=number)
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


def _forked_call(conn, fn, args) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as err:
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def in_fresh_process(fn: Callable, *args):
    """fn(*args) in a process forked from this one: timed on a heap no earlier benchmark has churned
    (as each peer of the training step is), so a profile is comparable with the peers' rows."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=_forked_call, args=(theirs, fn, args), daemon=True)
    proc.start()
    theirs.close()
    try:
        status, result = mine.recv()
    finally:
        proc.join(timeout=10)
    if status != "ok":
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed: {result}")
    return result


def _command_seconds(args: list[str], expect: int) -> tuple[float, str]:
    """Wall time of ``python -m reference ARGS`` in a fresh interpreter (imports included), and its output."""
    import subprocess
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "reference", *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != expect:
        raise RuntimeError(f"adcheck {' '.join(args)} exited {done.returncode}, expected {expect}: "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")
    return seconds, done.stdout + done.stderr


def bench_suite(repeats: int = 3, fuzz_count: int = 2000, quick: bool = False) -> list[dict]:
    """The commands as a user runs them, each in a fresh interpreter, ``repeats`` times: wall seconds
    (and the fuzz rate that ``adcheck fuzz`` itself reports), with their spread."""
    import re
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory(prefix="adcheck-bench-suite-") as tmp:
        commands = [
            ("adcheck run (all backends, 2 workers)", ["run", "--workers", "2", "--out", tmp], 0),
            (f"adcheck fuzz --count {fuzz_count} --workers 2", ["fuzz", "--count", str(fuzz_count), "--workers", "2",
                                                               "--out", tmp], 0),
            ("adcheck check, bad expression", ["check", "tanh(x", "--at", "x=1"], 2),
            ("adcheck check, bad point", ["check", "tanh(x)", "--at", "x=one"], 2),
            ("adcheck graph", ["graph", "tanh(x*w + b)", "--at", "x=0.5,w=-1,b=0.2", "-o", f"{tmp}/g.svg"], 0),
        ]
        if quick:
            commands = commands[2:]
        for name, args, expect in commands:
            walls, rates = [], []
            for _ in range(repeats):
                seconds, text = _command_seconds(args, expect)
                walls.append(seconds)
                found = re.search(r"expressions in [0-9.]+ s \(([0-9.]+)/s\)", text)
                if found:
                    rates.append(float(found.group(1)))
            rows.append({"command": name, "args": args, "wall": _spread(walls),
                         "rate": _spread(rates) if rates else None})
    return rows


def _fmt_s(x) -> str:
    if x is None:
        return ""
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def _fmt_spread(d: dict, fmt=_fmt_s) -> str:
    return f"{fmt(d['median'])} ({fmt(d['q1'])}–{fmt(d['q3'])})"


def _fmt_ratio(x: float) -> str:
    return f"{x:.3g}"


def machine() -> dict:
    """CPU model, cores, Python and the date: what a reader needs to place the figures."""
    import datetime
    import os
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": python,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{cpu}, {os.cpu_count()} cores, {python}"}


def render(step: list[dict], chain: list[dict], cost: list[dict], suite: list[dict] | None, meta: dict,
           unary: list[dict] | None = None, profile: dict | None = None) -> str:
    """reports/bench.md from the measured rows."""
    out = ["# Benchmarks", "", f"Measured on {meta['machine']}, {meta.get('date', '')}, in one process. "
           "Figures move from run to run and machine to machine; the ratios within one run are what to read.", ""]
    rounds = step[0]["consecutive"]["n"]
    out += [f"## One training step of MLP(2, [16, 16, 1]) on a batch of {step[0].get('batch', 100)}", "",
            "Forward, mean squared error, backward, SGD update. Hidden layers use tanh (micrograd 0.1.0 has only "
            "relu: same graph size, one activation node per neuron).", "",
            f"The peers are interleaved: {rounds} rounds, each timing every peer in turn, so drift of a shared "
            "machine falls on all of them alike. Each round of each peer runs in a fresh process, forked after the "
            "imports, one at a time: none is timed on a heap another one fragmented, and the luck of a process's "
            "memory layout is averaged over the rounds. A sample is the mean time per step over several steps in "
            "a row (column *steps*) after one untimed step: with the collector at its defaults, so its passes are "
            "paid where the allocations "
            "trigger them, and with the collector off. Each cell is the median of the samples and, in "
            "parentheses, their interquartile range (25th–75th percentile); *time / engine* is the same "
            f"for the ratio of the peer's time to that of *{ENGINE}* in the same round (below 1: faster). "
            "torch, NumPy, SymPy and micrograd are all imported, as in a real notebook; nothing is "
            "frozen out of the collector's way.", "",
            f"*{ENGINE}* is `fit(model, X, y, epochs=1)`: full batch, so one epoch is one step, with training's "
            "collector policy (`autodiff.collector_paused`: the cyclic collector is off during training, since "
            "the engine's graphs are freed by reference counting, and one young-generation pass runs at the "
            f"end). *{LOOP}* is the same step written out by hand with no policy, so the collector's cost "
            "shows in its first column.", ""]
    rows = []
    for r in step:
        rows.append([r["peer"], r["steps"], _fmt_spread(r["consecutive"]),
                     _fmt_spread(r["consecutive_ratio"], _fmt_ratio),
                     _fmt_spread(r["gc_off"]), _fmt_spread(r["gc_off_ratio"], _fmt_ratio),
                     _fmt_s(r.get("compile_s"))])
    out.append(tabulate(rows, ["peer", "steps", "GC default, consecutive steps", "time / engine",
                               "GC off", "time / engine (GC off)", "trace + generate (once)"], tablefmt="github"))
    by = {r["peer"]: r for r in step}
    eng = by[ENGINE]
    lines = []
    comp, batch = by.get("compiled (straight-line Python)"), by.get("compiled, NumPy batch")
    mg, t1, loop = by.get("micrograd 0.1.0"), by.get("torch, batched nn.Linear, 1 thread"), by.get(LOOP)

    def speed(row, mode):
        d = row[f"{mode}_ratio"]
        return f"{1 / d['median']:.1f}x (IQR {1 / d['q3']:.1f}–{1 / d['q1']:.1f}x)"

    def over(slow, fast, mode):  # slow's time / fast's time, round by round
        d = _spread([a / b for a, b in zip(slow[f"{mode}_samples"], fast[f"{mode}_samples"])])
        return f"{d['median']:.1f}x (IQR {d['q1']:.1f}–{d['q3']:.1f}x)"
    if mg:
        c, o = mg["consecutive_ratio"], mg["gc_off_ratio"]
        lines.append(f"- Engine vs micrograd 0.1.0, the training step as `fit` runs it: {c['median']:.1f}x faster over "
                     f"consecutive steps with the collector at its defaults (IQR {c['q1']:.1f}–{c['q3']:.1f}x), "
                     f"{o['median']:.2f}x with it off (IQR {o['q1']:.2f}–{o['q3']:.2f}x).")
        if loop:
            lines.append(f"- The hand-written loop (no collector policy) vs micrograd 0.1.0: "
                         f"{over(mg, loop, 'consecutive')} with the collector at its defaults, "
                         f"{over(mg, loop, 'gc_off')} with it off.")
    if comp:
        lines.append(f"- Compiled mode vs the interpreted engine: {speed(comp, 'consecutive')} faster with the "
                     f"collector at its defaults, {speed(comp, 'gc_off')} with it off.")
    if batch and t1:
        ratio = _spread([b / t for b, t in zip(batch["consecutive_samples"], t1["consecutive_samples"])])
        lines.append(f"- NumPy batch program vs torch batched on 1 thread: {ratio['median']:.2f}x torch's time "
                     f"(IQR {ratio['q1']:.2f}–{ratio['q3']:.2f}).")
    out += ["", *lines, "", f"Engine: {_fmt_spread(eng['consecutive'])} per step with the collector at its defaults, "
            f"{_fmt_spread(eng['gc_off'])} with it off. The compiled rows replay a graph traced once; their own "
            "gradients equal the engine's bit for bit (the NumPy batch program within a stated ulp bound), "
            "see `autodiff/compile.py`."]
    if profile:
        total = sum(profile["phases"].values())
        out += ["", "### Where the engine's step goes", "",
                f"The hand-written step, phase by phase, collector off, in a process of its own as the peers are "
                f"(median of {profile['repeats']} steps): "
                f"{profile['nodes']} op nodes per step.", ""]
        rows = [[phase, _fmt_s(t), f"{t / total:.0%}", f"{t / profile['nodes'] * 1e9:.0f}"]
                for phase, t in profile["phases"].items()]
        rows.append(["total", _fmt_s(total), "100%", f"{total / profile['nodes'] * 1e9:.0f}"])
        out.append(tabulate(rows, ["phase", "time", "share", "ns per op node"], tablefmt="github"))
    out += ["", "## A deep chain: build + backward", "",
            "`v = v * 1.0000001 + 1e-9`, n times: 2n op nodes and 2n constant leaves. Bytes per node by tracemalloc "
            "(op nodes and leaves together, per op node). micrograd's backward recurses once per node, so it stops "
            "near a thousand.", ""]
    rows = [[r["nodes"], _fmt_s(r["engine_s"]), _fmt_s(r.get("micrograd_s")),
             f"{r['engine_bytes_per_node']:.0f}" if r.get("engine_bytes_per_node") else "",
             f"{r['micrograd_bytes_per_node']:.0f}" if r.get("micrograd_bytes_per_node") else "",
             f"{r['engine_bytes_per_node'] / r['micrograd_bytes_per_node']:.2f}"
             if r.get("micrograd_bytes_per_node") else ""] for r in chain]
    out.append(tabulate(rows, ["op nodes", "autodiff", "micrograd", "autodiff bytes/node", "micrograd bytes/node",
                               "memory ratio"], tablefmt="github"))
    if unary:
        out += ["", "`v = sin(v)`, n times: n op nodes, no constants; peak memory during build and backward "
                "(tracemalloc), per node.", ""]
        out.append(tabulate([[r["nodes"], _fmt_s(r["seconds"]), f"{r['peak_bytes_per_node']:.0f}"] for r in unary],
                            ["nodes", "build + backward", "peak bytes per node"], tablefmt="github"))
    out += ["", "## The cost of a gradient as inputs grow", "",
            "f(x1..xn) = sum tanh(x_i x_{i+1}) + x_n**2. Reverse mode should cost a small constant times f; central "
            "differences cost 2n evaluations of f; SymPy pays once to derive and lambdify, then evaluates.", ""]
    rows = [[r["n"], _fmt_s(r["f_s"]), _fmt_s(r["reverse_s"]), f"{r['reverse_s'] / r['engine_f_s']:.2f}",
             _fmt_s(r["fd_central_s"]), f"{r['fd_central_s'] / r['f_s']:.0f}",
             _fmt_s(r.get("sympy_derive_s")), _fmt_s(r.get("sympy_eval_s"))] for r in cost]
    out.append(tabulate(rows, ["n", "f (floats)", "reverse mode", "reverse / engine's f", "central FD",
                               "FD / f", "SymPy derive", "SymPy evaluate"], tablefmt="github"))
    if suite:
        out += ["", "## The commands", "",
                "Each command run as a user runs it, in a fresh interpreter (imports included), "
                f"{suite[0]['wall']['n']} times: the median wall time and its range. The fuzz rate is the one "
                "`adcheck fuzz` reports (expressions over its wall time, worker start-up included).", ""]
        rows = [[f"`{r['command']}`", f"{_fmt_s(r['wall']['median'])} ({_fmt_s(r['wall']['min'])}–"
                 f"{_fmt_s(r['wall']['max'])})",
                 f"{r['rate']['median']:.0f}/s ({r['rate']['min']:.0f}–{r['rate']['max']:.0f})" if r["rate"] else ""]
                for r in suite]
        out.append(tabulate(rows, ["command", "wall (range)", "expressions per second (range)"], tablefmt="github"))
    out += ["", "## Versions", "", tabulate(sorted(meta["versions"].items()), ["package", "version"],
                                            tablefmt="github"), ""]
    return "\n".join(out)


def plot(chain: list[dict], cost: list[dict], path, unary: list[dict] | None = None,
         step: list[dict] | None = None) -> None:
    """The training step per peer (median and IQR), time against graph size, gradient cost against n."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3 if step else 2, figsize=(17 if step else 11, 4.5))
    if step:
        bars, left, right = axes
        names = [r["peer"] for r in step]
        for k, (mode, label) in enumerate((("consecutive", "GC default"), ("gc_off", "GC off"))):
            med = [r[mode]["median"] for r in step]
            err = [[m - r[mode]["q1"] for m, r in zip(med, step)], [r[mode]["q3"] - m for m, r in zip(med, step)]]
            bars.barh([i + 0.4 * k for i in range(len(step))], med, height=0.4, xerr=err, label=label, log=True)
        bars.set_yticks([i + 0.2 for i in range(len(step))], names, fontsize=8)
        bars.invert_yaxis()
        bars.set_xlabel("seconds per training step (median, IQR)")
        bars.legend(fontsize=8)
        bars.grid(True, axis="x", which="both", alpha=0.3)
    else:
        left, right = axes
    left.loglog([r["nodes"] for r in chain], [r["engine_s"] for r in chain], "o-",
                label="autodiff: v*c + d chain (with constant leaves)")
    if unary:
        left.loglog([r["nodes"] for r in unary], [r["seconds"] for r in unary], "s-", label="autodiff: sin chain")
    left.set_xlabel("op nodes in the chain")
    left.set_ylabel("seconds")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    ns = [r["n"] for r in cost]
    right.loglog(ns, [r["reverse_s"] for r in cost], "o-", label="reverse mode (engine)")
    right.loglog(ns, [r["fd_central_s"] for r in cost], "s-", label="central differences")
    right.loglog(ns, [r["f_s"] for r in cost], "^--", label="f alone (floats)")
    sym = [r for r in cost if "sympy_eval_s" in r]
    right.loglog([r["n"] for r in sym], [r["sympy_eval_s"] for r in sym], "d-", label="SymPy lambdified gradient")
    right.set_xlabel("inputs n")
    right.set_ylabel("seconds per gradient")
    right.legend()
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None, "CreationDate": None})
    plt.close(fig)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages measured or used."""
    import platform
    from importlib import metadata
    found = {"python": platform.python_version()}
    for name in ("adcheck", "torch", "numpy", "micrograd", "sympy", "mpmath"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def main(argv=None) -> int:
    """Run every benchmark (``--quick`` for tiny sizes) and write bench.md and bench.png.

    The full run writes into ``reports/`` unless ``--out`` says otherwise; ``--quick`` writes into a
    new temporary folder unless ``--out`` is given (so a smoke run never overwrites the report).
    """
    import argparse
    import os
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="adcheck bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--out", default=None, help="folder for bench.md and bench.png (default: reports/, "
                        "or a temporary folder with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds of the training step")
    parser.add_argument("--no-commands", action="store_true", help="skip timing the commands (run, fuzz, check, graph)")
    args = parser.parse_args(argv)
    quick = args.quick
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="adcheck-bench-")) if quick
                                           else Path("reports"))

    stages = ["training step", "step profile", "deep chains", "gradient cost", "commands"]
    with Progress("bench", unit="stages") as progress:  # a bar on a terminal, a line every 10 s elsewhere
        progress(0, len(stages), f"training step ({len(PEERS)} peers interleaved, GC default and off)")
        rounds = args.rounds or (2 if quick else 11)
        step = bench_training_step(batch=10 if quick else 100, rounds=rounds, consecutive=2 if quick else 5)
        progress(1, len(stages), "the engine's step, phase by phase")
        profile = in_fresh_process(bench_step_profile, 10 if quick else 100, 2 if quick else 15)
        progress(2, len(stages), "deep chains")
        chain = bench_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 500_000), repeats=1 if quick else 3)
        unary = bench_unary_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 1_000_000))
        progress(3, len(stages), "gradient cost against n")
        cost = bench_gradient_cost((1, 10) if quick else (1, 10, 100, 1000), sympy_limit=10 if quick else 100,
                                   repeats=1 if quick else 3)
        suite = None
        if not args.no_commands:
            progress(4, len(stages), "the commands (run, fuzz, check, graph)")
            suite = bench_suite(repeats=1 if quick else 3, quick=quick)
        progress(len(stages), len(stages), "done")
    meta = {**machine(), "versions": versions()}
    out.mkdir(parents=True, exist_ok=True)
    text = render(step, chain, cost, suite, meta, unary, profile)
    plot(chain, cost, out / "bench.png", unary, step)
    tmp = out / "bench.md.tmp"
    tmp.write_text(text + "\n![training step, and time against graph size](bench.png)\n")
    os.replace(tmp, out / "bench.md")
    print(text)
    if quick and not args.out:
        print(f"\n(quick run written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
