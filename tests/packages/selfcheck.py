"""Self-check of the package fixtures, without adcheck: each engine's gradients against central
finite differences of its own (correct) forward values, on small graphs chosen to show each trap.

    python tests/packages/selfcheck.py        # prints a table; exits 1 if a fixture is not as README.md says

Each package root is imported in a fresh subprocess (the five MiniTorch roots share the package
name ``minitorch``, the two micrograd roots ``mygrad_pkg``).
"""
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

MINITORCH = ["minitorch_right", "minitorch_ignores_doutput", "minitorch_backward_none",
             "minitorch_bfs_topo", "minitorch_topo_stops_early"]
MICRO = ["micro_pkg", "micro_pkg_bug"]

# name -> (function of (m, x, y) where m holds the unary ops, point)
# `share` makes one node used twice (c + f(c) must reuse c, not rebuild it).
P = (0.7, -1.3)
Q = (0.7, 1.9)  # both positive, for log and sqrt
NEG = (-0.7, 1.9)


def share(c, f):
    return f(c)


COMMON = {
    "x + y": (lambda m, x, y: x + y, P),
    "x - y": (lambda m, x, y: x - y, P),
    "x - 2": (lambda m, x, y: x - 2, P),
    "x * y": (lambda m, x, y: x * y, P),
    "3 * x": (lambda m, x, y: 3 * x, P),
    "x * 3": (lambda m, x, y: x * 3, P),
    "x / y": (lambda m, x, y: x / y, P),
    "2 / x": (lambda m, x, y: 2 / x, P),
    "-x": (lambda m, x, y: -x, P),
    "exp(x)": (lambda m, x, y: m.exp(x), P),
    "log(x)": (lambda m, x, y: m.log(x), Q),
    "sigmoid(x)": (lambda m, x, y: m.sigmoid(x), P),
    "relu(x), x > 0": (lambda m, x, y: m.relu(x), P),
    "relu(x), x < 0": (lambda m, x, y: m.relu(x), NEG),
    # every unary op under a scaling (d_output != 1)
    "y * exp(x)": (lambda m, x, y: y * m.exp(x), P),
    "y * log(x)": (lambda m, x, y: y * m.log(x), Q),
    "y * sigmoid(x)": (lambda m, x, y: y * m.sigmoid(x), P),
    "3 * sigmoid(x)": (lambda m, x, y: 3 * m.sigmoid(x), P),
    "sigmoid(x) * y": (lambda m, x, y: m.sigmoid(x) * y, P),
    "exp(sigmoid(x))": (lambda m, x, y: m.exp(m.sigmoid(x)), P),
    "y * relu(x)": (lambda m, x, y: y * m.relu(x), P),
    "y * -x": (lambda m, x, y: y * -x, P),
    # a node used twice: c + f(c) and f(c) + c, c a leaf or a product
    "x + exp(x)": (lambda m, x, y: x + m.exp(x), P),
    "exp(x) + x": (lambda m, x, y: m.exp(x) + x, P),
    "c + exp(c), c = x*y": (lambda m, x, y: share(x * y, lambda c: c + m.exp(c)), P),
    "exp(c) + c, c = x*y": (lambda m, x, y: share(x * y, lambda c: m.exp(c) + c), P),
    "c + sigmoid(c), c = x*y": (lambda m, x, y: share(x * y, lambda c: c + m.sigmoid(c)), P),
    "c * c, c = x + y": (lambda m, x, y: share(x + y, lambda c: c * c), P),
    "x + x * y": (lambda m, x, y: x + x * y, P),
    "x * y + x": (lambda m, x, y: x * y + x, P),
    "x + x / y": (lambda m, x, y: x + x / y, P),
}

MICRO_ONLY = {
    "tanh(x)": (lambda m, x, y: m.tanh(x), P),
    "y * tanh(x)": (lambda m, x, y: y * m.tanh(x), P),
    "x ** 3": (lambda m, x, y: x ** 3, P),
    "y * x ** 2": (lambda m, x, y: y * x ** 2, P),
    "sin(x)": (lambda m, x, y: m.sin(x), P),
    "cos(x)": (lambda m, x, y: m.cos(x), P),
    "sqrt(x)": (lambda m, x, y: m.sqrt(x), Q),
    "y * sqrt(x)": (lambda m, x, y: y * m.sqrt(x), Q),
    "sqrt(x), x = 1": (lambda m, x, y: m.sqrt(x), (1.0, 1.9)),
    "abs(x)": (lambda m, x, y: abs(x), NEG),
    "2 - x": (lambda m, x, y: 2 - x, P),
}

# the cases each fixture must get wrong; every other case must be right
EXPECTED_WRONG = {
    "minitorch_right": set(),
    "minitorch_ignores_doutput": {"y * sigmoid(x)", "3 * sigmoid(x)", "sigmoid(x) * y", "exp(sigmoid(x))"},
    "minitorch_backward_none": {"x * y", "3 * x", "x / y", "2 / x", "y * exp(x)", "y * log(x)", "y * sigmoid(x)",
                                "3 * sigmoid(x)", "sigmoid(x) * y", "y * relu(x)", "y * -x", "c + exp(c), c = x*y",
                                "exp(c) + c, c = x*y", "c + sigmoid(c), c = x*y", "c * c, c = x + y",
                                "x + x * y", "x * y + x", "x + x / y"},
    "minitorch_bfs_topo": {"x + exp(x)", "c + exp(c), c = x*y", "c + sigmoid(c), c = x*y", "x + x * y",
                           "x + x / y"},
    "minitorch_topo_stops_early": {"x + x * y", "x + x / y"},
    "micro_pkg": set(),
    "micro_pkg_bug": {"sqrt(x)", "y * sqrt(x)"},
}


class _NS:
    """The unary ops as functions: exp(v) -> v.exp()."""

    def __getattr__(self, name):
        return lambda v: getattr(v, name)()


def _one_root(root):
    """In a fresh process: {case: [ok, value, grads, fd]} for the engine under ``root``."""
    sys.path.insert(0, os.path.join(HERE, root))
    if root.startswith("minitorch"):
        from minitorch.scalar import Scalar as cls
        grad_of = lambda v: 0.0 if v.derivative is None else v.derivative
        cases = COMMON
    else:
        from mygrad_pkg.engine import Value as cls
        grad_of = lambda v: v.grad
        cases = {**COMMON, **MICRO_ONLY}
    m = _NS()
    out = {}
    for name, (f, (x0, y0)) in cases.items():
        x, y = cls(x0), cls(y0)
        z = f(m, x, y)
        z.backward()
        grads = [grad_of(x), grad_of(y)]
        h = 1e-6
        fd = [(f(m, cls(x0 + h), cls(y0)).data - f(m, cls(x0 - h), cls(y0)).data) / (2 * h),
              (f(m, cls(x0), cls(y0 + h)).data - f(m, cls(x0), cls(y0 - h)).data) / (2 * h)]
        ok = all(math.isclose(g, d, rel_tol=1e-5, abs_tol=1e-7) for g, d in zip(grads, fd))
        out[name] = [ok, z.data, grads, fd]
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--root":
        print(json.dumps(_one_root(sys.argv[2])))
        return 0
    results = {}
    for root in MINITORCH + MICRO:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--root", root],
                              capture_output=True, text=True, check=True)
        results[root] = json.loads(proc.stdout)
    names = list({**COMMON, **MICRO_ONLY})
    short = {r: r.replace("minitorch_", "mt_") for r in results}
    print(f"{'case':26s}" + "".join(f"{short[r]:>20s}" for r in results))
    for name in names:
        cells = []
        for r in results:
            res = results[r].get(name)
            cells.append("-" if res is None else ("ok" if res[0] else "WRONG"))
        print(f"{name:26s}" + "".join(f"{c:>20s}" for c in cells))
    bad = 0
    for r, res in results.items():
        wrong = {n for n, v in res.items() if not v[0]}
        if wrong != EXPECTED_WRONG[r]:
            bad += 1
            print(f"{r}: wrong on {sorted(wrong)}, expected {sorted(EXPECTED_WRONG[r])}")
        for n in sorted(wrong):
            _, _, grads, fd = res[n]
            print(f"  {r}: {n}: grad {grads} vs finite differences {fd}")
    print("all fixtures as expected" if not bad else f"{bad} fixture(s) not as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
