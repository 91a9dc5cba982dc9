"""Graph size: deep chains (time and memory per node against micrograd) and the cost of a gradient against n."""
from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable

from autodiff import Value
from autodiff.engine import VALUE_MATH
from autodiff.rules import FLOAT as REAL
from reference.bench.timing import median_time


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
        row = {"nodes": 2 * n, "engine_s": median_time(run_engine, repeats if n < 10 ** 6 else 1),
               "engine_bytes_per_node": chain_memory(_chain_engine, n) if n <= 100_000 else None}
        if n <= 100_000:
            row["micrograd_bytes_per_node"] = chain_memory(_chain_micrograd, n)
        if n <= 300:  # micrograd's backward recurses once per node
            def run_micrograd():
                _, out = _chain_micrograd(n)
                out.backward()
            row["micrograd_s"] = median_time(run_micrograd, repeats)
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
        seconds = median_time(build_and_backward, 3 if n < 10 ** 6 else 1)
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
        t_f = median_time(lambda: _sum_of_products(REAL, floats), repeats, number=number)

        def reverse():
            xs = [Value(x) for x in point]
            _sum_of_products(VALUE_MATH, xs).backward()
        t_rev = median_time(reverse, repeats, number=number)
        t_value_engine = median_time(lambda: _sum_of_products(VALUE_MATH, [Value(x) for x in point]), repeats,
                                      number=number)

        def central():
            h = 6e-6
            for i in range(n):
                up, down = list(floats), list(floats)
                up[i] += h
                down[i] -= h
                _sum_of_products(REAL, up) - _sum_of_products(REAL, down)
        t_fd = median_time(central, 1 if n >= 1000 else repeats, number=max(1, number // n))
        row = {"n": n, "f_s": t_f, "engine_f_s": t_value_engine, "reverse_s": t_rev, "fd_central_s": t_fd}
        if n <= sympy_limit:
            symbols = [sympy.Symbol(f"x{i}", real=True) for i in range(n)]
            start = time.perf_counter()
            expr = _sum_of_products(SYMPY, symbols)
            grad_fn = sympy.lambdify(symbols, [sympy.diff(expr, s) for s in symbols], modules="numpy")
            row["sympy_derive_s"] = time.perf_counter() - start
            row["sympy_eval_s"] = median_time(lambda: grad_fn(*floats), repeats, number=number)
        rows.append(row)
    return rows
