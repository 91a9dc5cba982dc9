"""Benchmarks against the peers, measured in one process run and reported as ratios.

Runs as ``adcheck bench`` or ``python -m reference.bench``. Every figure is the median of
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
    """One training step of this engine's MLP(2, [16, 16, 1]): forward, MSE, backward, SGD update."""
    from autodiff import MLP, SGD
    from autodiff.losses import mse
    X, Y = _data(batch)
    model = MLP(WIDTHS[0], WIDTHS[1:], seed=0)
    opt = SGD(model.parameters(), lr=0.01)

    def step():
        loss = mse([model(x) for x in X], Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
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
    """The same step with PyTorch 0-d float64 tensors, scalar by scalar."""
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
        loss = sum(((forward(x) - y) ** 2 for x, y in zip(Xt, Y)), torch.zeros((), dtype=torch.float64)) / len(Xt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def step_torch_batched(batch: int) -> Callable[[], None]:
    """The same step with nn.Linear layers in float64, the batch as one tensor."""
    import torch
    X, Y = _data(batch)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    Xt, Yt = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64).unsqueeze(1)

    def step():
        loss = torch.nn.functional.mse_loss(model(Xt), Yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


PEERS = {"autodiff (this engine)": step_engine, "micrograd 0.1.0": step_micrograd,
         "torch, 0-d tensors": step_torch_scalar, "torch, batched nn.Linear": step_torch_batched}


def bench_training_step(batch: int = 100, repeats: int = 7) -> list[dict]:
    """Median step time of each peer, with the collector on (default) and off."""
    rows = []
    for name, make in PEERS.items():
        step = make(batch)
        rows.append({"peer": name, "gc_on": _median_time(step, repeats),
                     "gc_off": _median_time(step, repeats, gc_enabled=False)})
    return rows


def _chain_engine(n: int):
    from autodiff import Value
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
    from autodiff import Value
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
    import numpy as np
    import sympy

    from autodiff import Value
    from reference.backends.finite_difference import REAL
    from reference.backends.symbolic import SYMPY
    from reference.cases import _ENGINE_MATH
    rows = []
    for n in sizes:
        point = [0.1 + 0.8 * i / max(1, n - 1) for i in range(n)]
        floats = [np.float64(x) for x in point]
        number = max(1, 2000 // n)  # tiny functions are timed over many calls
        t_f = _median_time(lambda: _sum_of_products(REAL, floats), repeats, number=number)

        def reverse():
            xs = [Value(x) for x in point]
            _sum_of_products(_ENGINE_MATH, xs).backward()
        t_rev = _median_time(reverse, repeats, number=number)
        t_value_engine = _median_time(lambda: _sum_of_products(_ENGINE_MATH, [Value(x) for x in point]), repeats,
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


def bench_conformance(workers: int = 2) -> float:
    """Wall time of the whole conformance run (all cases, all backends)."""
    from reference.cases import CORPUS
    from reference.harness import run
    start = time.perf_counter()
    for _ in run(CORPUS, workers=workers):
        pass
    return time.perf_counter() - start


def _fmt_s(x) -> str:
    if x is None:
        return ""
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def render(step: list[dict], chain: list[dict], cost: list[dict], conformance: float | None, meta: dict,
           unary: list[dict] | None = None) -> str:
    """reports/bench.md from the measured rows."""
    ours = step[0]
    out = ["# Benchmarks", "", f"Measured in one process run on {meta['machine']}; medians of several repeats after "
           "a warm-up. Figures move from run to run and machine to machine; the ratios are what to read.", ""]
    out += ["## One training step of MLP(2, [16, 16, 1]) on a batch of 100", "",
            "Forward, mean squared error, backward, SGD update. Hidden layers use tanh (micrograd 0.1.0 has only "
            "relu: same graph size, one activation node per neuron).", ""]
    rows = [[r["peer"], _fmt_s(r["gc_on"]), _fmt_s(r["gc_off"]),
             f"{r['gc_on'] / ours['gc_on']:.2f}", f"{r['gc_off'] / ours['gc_off']:.2f}"] for r in step]
    out.append(tabulate(rows, ["peer", "GC on (default)", "GC off", "time / ours (GC on)", "time / ours (GC off)"],
                        tablefmt="github"))
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
    if conformance is not None:
        out += ["", "## The conformance run", "", f"`adcheck run` end to end with 2 workers: {conformance:.1f} s."]
    out += ["", "## Versions", "", tabulate(sorted(meta["versions"].items()), ["package", "version"],
                                            tablefmt="github"), ""]
    return "\n".join(out)


def plot(chain: list[dict], cost: list[dict], path, unary: list[dict] | None = None) -> None:
    """Time against graph size: the chain, and gradient cost against n."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
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


def main(argv=None) -> int:
    """Run every benchmark (``--quick`` for tiny sizes) and write reports/bench.md and bench.png."""
    import argparse
    import platform
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="adcheck bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--out", default="reports")
    parser.add_argument("--no-conformance", action="store_true", help="skip timing the conformance run")
    args = parser.parse_args(argv)
    quick = args.quick

    def stage(text: str) -> None:  # progress on a terminal only
        if sys.stderr.isatty():
            print(f"bench: {text}...", file=sys.stderr, flush=True)
    stage("training step (4 peers, GC on and off)")
    step = bench_training_step(batch=10 if quick else 100, repeats=1 if quick else 7)
    stage("deep chains")
    chain = bench_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 500_000), repeats=1 if quick else 3)
    unary = bench_unary_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 1_000_000))
    stage("gradient cost against n")
    cost = bench_gradient_cost((1, 10) if quick else (1, 10, 100, 1000), sympy_limit=10 if quick else 100,
                               repeats=1 if quick else 3)
    if not (quick or args.no_conformance):
        stage("the conformance run")
    conformance = None if (quick or args.no_conformance) else bench_conformance()
    # Imported only now: the report pulls in torch and SymPy, whose objects would make every
    # full collection of the garbage collector slower for the peers measured above.
    from reference.report import versions, write_atomic
    meta = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
            "versions": versions()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = render(step, chain, cost, conformance, meta, unary)
    plot(chain, cost, out / "bench.png", unary)
    write_atomic(out / "bench.md", text + "\n![time against graph size](bench.png)\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
