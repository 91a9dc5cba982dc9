"""Compiled mode: the generated program gives the engine's bits; the batch program stays within its ulp bound."""
import math
import random

import numpy as np
import pytest

from autodiff import MLP, SGD, Adam, Value, fit
from autodiff.compile import BATCH_ULP, compile_gradient
from autodiff.engine import VALUE_MATH
from autodiff.losses import mse
from autodiff.rules import FLOAT, RULES
from reference.corpus.cases import CORPUS


def same(a, b) -> bool:
    """Equal bits as a float: the sign of zero counts, any NaN equals any NaN."""
    if a != a:
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def interpreted(case, values):
    xs = [Value(x) for x in values]
    out = case.fn(VALUE_MATH, *xs)
    out = out if isinstance(out, Value) else Value(out)
    out.backward()
    return xs, out


def structure(out):
    from autodiff.graph import topological
    return [(n.op, n.args) for n in topological(out)]


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_compiled_gradients_are_the_interpreted_bits_on_the_corpus(case):
    xs0, out0 = interpreted(case, case.points[0].values)
    traced = compile_gradient(out0, xs0)
    for point in case.points:
        xs, out = interpreted(case, point.values)
        # The same program at new values, unless this point's graph has another shape (then trace it).
        cg = traced if structure(out) == structure(out0) else compile_gradient(out, xs)
        value, grads = cg(list(point.values))
        assert same(value, out.data), (point.values, value, out.data)
        for x, g in zip(xs, grads):
            assert same(g, x.grad), (point.values, g, x.grad)


def _ulps(a: float, b: float, scale: float) -> float:
    return abs(a - b) / math.ulp(scale) if scale else (0.0 if a == b else math.inf)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_batch_is_within_its_ulp_bound_of_the_scalar_program(case):
    xs, out = interpreted(case, case.points[0].values)
    cg = compile_gradient(out, xs)
    rows = [p.values for p in case.points
            if structure(interpreted(case, p.values)[1]) == structure(out)]
    values, grads = cg.batch(rows)
    assert values.shape == (len(rows),) and grads.shape == (len(rows), len(xs))
    for row, v, gs in zip(rows, values, grads):
        ref_v, ref_g = cg(list(row))
        scale = max([abs(g) for g in ref_g if math.isfinite(g)] + [0.0])
        # NumPy's SIMD exp/log/tanh/... round differently from the C library (and from CPU to
        # CPU): compare within the stated bound, never bit for bit.
        for a, b, s in [(ref_v, float(v), abs(ref_v))] + [(a, float(b), scale) for a, b in zip(ref_g, gs)]:
            if math.isfinite(a) and math.isfinite(b):
                assert _ulps(a, b, s) <= BATCH_ULP, (row, a, b)
            else:
                assert same(a, b) or (a == b), (row, a, b)


def test_mlp_loss_gradients_are_bit_identical_and_reusable_at_new_weights():
    model = MLP(2, [16, 16, 1], seed=0)
    rng = random.Random(1)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(12)]
    Y = [rng.uniform(-1, 1) for _ in range(12)]
    params = model.parameters()
    loss = mse([model(x) for x in X], Y)
    cg = compile_gradient(loss, params)
    for _ in range(3):  # new weights each time, graph traced once
        for p in params:
            p.data += rng.uniform(-0.1, 0.1)
        model.zero_grad()
        loss = mse([model(x) for x in X], Y)
        loss.backward()
        value, grads = cg([p.data for p in params])
        assert same(value, loss.data)
        assert all(same(g, p.grad) for g, p in zip(grads, params))


def test_fed_leaves_change_per_call_without_partials():
    x, w = Value(0.3), Value(-0.7)
    out = (w * x).tanh() + w ** 2
    cg = compile_gradient(out, [w], feed=[x])
    for xv, wv in [(0.3, -0.7), (2.0, 0.5)]:
        x2, w2 = Value(xv), Value(wv)
        o2 = (w2 * x2).tanh() + w2 ** 2
        o2.backward()
        value, (gw,) = cg([wv, xv])
        assert same(value, o2.data) and same(gw, w2.grad)


def test_ieee_edges_never_raise():
    x, y = Value(1.0), Value(2.0)
    out = x / y + (x.log() * y) + x ** -1.0 + (x ** y)
    cg = compile_gradient(out, [x, y])
    value, grads = cg([0.0, 0.0])  # 0/0, log 0, 0**-1, 0**0
    x2, y2 = Value(0.0), Value(0.0)
    o2 = x2 / y2 + (x2.log() * y2) + x2 ** -1.0 + (x2 ** y2)
    o2.backward()
    assert same(value, o2.data) and all(same(a, b) for a, b in zip(grads, [x2.grad, y2.grad]))
    values, _ = cg.batch([[0.0, 0.0], [1.0, 2.0]])
    assert same(float(values[0]), o2.data)


class Node:
    """A hand-made graph node: compiled mode reads only data, children, rule and args."""

    def __init__(self, data, children=(), rule=None, args=()):
        self.data, self.children, self.rule, self.args = data, tuple(children), rule, tuple(args)


def test_rules_are_read_from_the_registry_not_from_templates():
    """A partial planted in a registry row shows up in the generated code."""
    import dataclasses
    wrong = dataclasses.replace(RULES["tanh"], partials=(lambda m, z, x: 1.0 - z,))
    x = Node(0.4)
    out = Node(math.tanh(0.4), [x], wrong)
    cg = compile_gradient(out, [x])
    assert cg([0.4])[1][0] == 1.0 - math.tanh(0.4)


def test_a_rule_that_branches_in_python_is_called_as_it_is():
    """A rule written with a Python ``if`` on a value cannot be traced into code: it is called."""
    import dataclasses
    branching = dataclasses.replace(RULES["relu"], partials=(lambda m, z, x: 1.0 if x > 0 else 0.0,))
    x = Node(0.4)
    out = Node(1.2, [Node(0.4, [x], branching), Node(3.0)], RULES["mul"])
    cg = compile_gradient(out, [x])
    assert cg([0.4])[1] == [3.0] and cg([-0.4])[1] == [0.0]
    assert list(cg.batch([[0.4], [-0.4]])[1][:, 0]) == [3.0, 0.0]


def test_every_namespace_function_works_in_the_batch_program():
    """Functions of the float namespace with a NumPy counterpart agree with it; any other runs element-wise."""
    from autodiff.compile import _numpy_impl
    points = np.array([-2.5, -1.0, -0.0, 0.0, 1e-300, 0.5, 3.0, 40.0, math.inf, -math.inf, math.nan])
    import inspect
    for name in dir(FLOAT):
        fn = getattr(FLOAT, name)
        if name.startswith("_") or not callable(fn) or getattr(fn, "__self__", None) is FLOAT:
            continue  # constants, and the namespace's own methods
        args = [points] * len(inspect.signature(fn).parameters)
        with np.errstate(all="ignore"):
            got = np.broadcast_to(np.asarray(_numpy_impl(name, fn)(*args), dtype=float), points.shape)
        for i, x in enumerate(points):
            expected = float(fn(*([float(x)] * len(args))))
            g = float(got[i])
            assert same(g, expected) or (math.isfinite(g) and abs(g - expected) <= 4 * math.ulp(expected)), (name, x)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("batch_size", [None, 4, 5])
def test_fit_compiled_is_bit_identical_to_the_interpreted_run(optimizer, batch_size):
    rng = random.Random(3)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(14)]
    Y = [rng.uniform(-1, 1) for _ in range(14)]
    runs = []
    for compiled in (False, True):
        model = MLP(2, [6, 6, 1], seed=0)
        history = fit(model, X, Y, optimizer=optimizer(model.parameters(), lr=0.05), epochs=4,
                      batch_size=batch_size, seed=7, compiled=compiled)
        runs.append((history, [p.data for p in model.parameters()], [p.grad for p in model.parameters()]))
    (h0, p0, g0), (h1, p1, g1) = runs
    assert all(map(same, h0, h1)) and all(map(same, p0, p1)) and all(map(same, g0, g1))


def test_fit_restores_the_collector():
    import gc
    was = gc.isenabled()
    model = MLP(2, [3, 1], seed=0)
    fit(model, [[0.1, 0.2], [0.3, -0.1]], [0.5, -0.5], epochs=2)
    assert gc.isenabled() == was
