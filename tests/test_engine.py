"""The engine: every op against torch float64, edges, graph shapes, higher order."""
import gc
import math
import sys
import tracemalloc

import pytest
import torch

from autodiff import RULES, Value, grad
from autodiff.engine import VALUE_MATH
from conftest import same_float

# op -> (engine function, torch function, points); points include each op's edges.
UNARY = {
    "neg": (lambda a: -a, lambda t: -t, [-2.0, 0.0, 3.5]),
    "exp": (Value.exp, torch.exp, [-800.0, -1.0, 0.0, 1.5, 709.0, 710.0]),
    "log": (Value.log, torch.log, [-1.0, 0.0, 1e-300, 0.5, 1.0, 1e300]),
    "tanh": (Value.tanh, torch.tanh, [-25.0, -1.0, 0.0, 0.5, 19.0, 25.0, math.inf]),
    "sigmoid": (Value.sigmoid, torch.sigmoid, [-800.0, -40.0, -1.0, 0.0, 2.0, 40.0, 800.0]),
    "relu": (Value.relu, torch.relu, [-1.0, 0.0, 2.0]),
    "sin": (Value.sin, torch.sin, [-2.0, 0.0, 1.0, math.inf]),
    "cos": (Value.cos, torch.cos, [-2.0, 0.0, 1.0, math.inf]),
    "sqrt": (Value.sqrt, torch.sqrt, [-1.0, 0.0, 1e-300, 2.0, 1e300]),
    "abs": (Value.abs, torch.abs, [-2.0, 0.0, 3.0]),
    "tan": (Value.tan, torch.tan, [-1.5, 0.0, 0.5, 1.0, math.inf]),
    "atan": (Value.atan, torch.atan, [-1e200, -2.0, 0.0, 0.5, 1e10]),
    "log1p": (Value.log1p, torch.log1p, [-2.0, -1.0, -0.5, 1e-20, 0.5, 1e300]),
    # torch's softplus switches to x above its threshold 20 (slope exactly 1): compare below it
    "softplus": (Value.softplus, torch.nn.functional.softplus, [-800.0, -30.0, -1.0, 0.0, 1.5, 19.5]),
    "leaky_relu": (Value.leaky_relu, torch.nn.functional.leaky_relu, [-2.0, 0.0, 3.0]),
}
BINARY = {
    "add": (lambda a, b: a + b, [(1.0, 2.0), (-3.0, 0.5)]),
    "sub": (lambda a, b: a - b, [(1.0, 2.0), (-3.0, 0.5)]),
    "mul": (lambda a, b: a * b, [(1.5, -2.0), (0.0, math.inf)]),
    "div": (lambda a, b: a / b, [(1.0, 4.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (1.0, -0.0), (3.0, 1e200)]),
    "maximum": (lambda a, b: a.maximum(b) if isinstance(a, Value) else torch.maximum(a, b),
                [(1.0, 2.0), (2.0, 1.0), (1.5, 1.5), (-0.0, 0.0)]),
    "pow": (lambda a, b: a ** b, [(2.0, 3.0), (0.0, 2.0), (0.0, 0.5), (0.0, -1.0), (-2.0, 3.0), (-2.0, 0.5),
                                  (-8.0, 1 / 3), (1e10, 40.0), (3.0, 0.0), (-2.0, -2000.0)]),
}
# -0.0 only with integer exponents: torch computes (-0.0)**-0.5 as 1/sqrt(-0.0) = -inf, where IEEE pow gives +inf.
POWC = [(x, c) for x in (-2.0, -0.0, 0.0, 0.5, 3.0) for c in (0, 1, 2, 3, -1, -2, 0.5, -0.5, 2.5)
        if not (x == 0 and math.copysign(1, x) < 0 and not float(c).is_integer())]


def torch_value_grad(fn, *xs):
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    gs = torch.autograd.grad(out, ts, allow_unused=True)
    return out.item(), [0.0 if g is None else g.item() for g in gs]


def engine_value_grad(fn, *xs):
    vs = [Value(x) for x in xs]
    out = fn(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def assert_matches_torch(engine_fn, torch_fn, xs):
    value, grads = engine_value_grad(engine_fn, *xs)
    t_value, t_grads = torch_value_grad(torch_fn, *xs)
    assert same_float(value, t_value), (xs, value, t_value)
    for g, tg in zip(grads, t_grads):
        assert same_float(g, tg), (xs, grads, t_grads)


# Where torch knowingly differs from the engine (each said in the registry row's note or the report).
TORCH_DIFFERS = {("softplus", (20.5,)): "above its threshold 20 torch's softplus is x itself, slope exactly 1",
                 ("softplus", (25.0,)): "the same threshold", ("pow", (0.0, 0.0)): "torch masks d/dy to 0 at 0**0"}


@pytest.mark.parametrize("name", list(RULES))
def test_every_row_matches_torch_at_its_own_points(name):
    """Each registry row, at every point it declares, against its torch counterpart: no row can be missed."""
    rule = RULES[name]
    import torch as t
    for point in rule.sampling.points:
        inputs, params = [float(v) for v in point[:rule.arity]], point[rule.arity:]
        if (name, tuple(inputs)) in TORCH_DIFFERS:
            continue
        engine_fn = lambda *vs: getattr(VALUE_MATH, name)(*vs, *params)
        torch_fn = lambda *ts: rule.systems.torch(t, *ts, *params)
        assert_matches_torch(engine_fn, torch_fn, inputs)


@pytest.mark.parametrize("op,x", [(op, x) for op, (_, _, xs) in UNARY.items() for x in xs])
def test_unary_op_matches_torch(op, x):
    engine_fn, torch_fn, _ = UNARY[op]
    assert_matches_torch(engine_fn, torch_fn, [x])


def test_sin_cos_large_argument_close_to_torch():
    # libm and torch may reduce 1e10 modulo 2 pi differently in the last bits.
    for fn, tfn in ((Value.sin, torch.sin), (Value.cos, torch.cos)):
        value, (g,) = engine_value_grad(fn, 1e10)
        t_value, (tg,) = torch_value_grad(tfn, 1e10)
        assert same_float(value, t_value, atol=1e-9) and same_float(g, tg, atol=1e-9)


@pytest.mark.parametrize("op,xy", [(op, xy) for op, (_, pts) in BINARY.items() for xy in pts])
def test_binary_op_matches_torch(op, xy):
    fn, _ = BINARY[op]
    assert_matches_torch(fn, fn, xy)


def test_pow_at_zero_zero_differs_from_torch_by_a_documented_convention():
    # 0**y jumps from 1 to 0 at y = 0: no derivative in y. torch masks it to 0;
    # the engine's rule gives z * log(0) = -inf (see the pow rule's note).
    _, (gx, gy) = engine_value_grad(lambda a, b: a ** b, 0.0, 0.0)
    _, (tgx, tgy) = torch_value_grad(lambda a, b: a ** b, 0.0, 0.0)
    assert gx == tgx == 0.0
    assert gy == -math.inf and tgy == 0.0


@pytest.mark.parametrize("x,c", POWC)
def test_pow_with_number_exponent_matches_torch(x, c):
    assert_matches_torch(lambda a: a ** c, lambda t: t ** c, [x])


@pytest.mark.parametrize("c,x", [(2.0, 3.0), (0.5, -1.0), (0.0, 2.0), (-2.0, 1.5)])
def test_number_to_a_value_power_matches_torch(c, x):
    assert_matches_torch(lambda a: c ** a, lambda t: torch.tensor(c, dtype=torch.float64) ** t, [x])


def test_numbers_work_on_either_side_of_every_operator():
    a = Value(2.0)
    results = [a + 1, 1 + a, a - 1, 1 - a, a * 3, 3 * a, a / 4, 4 / a, a ** 2, 2 ** a]
    assert [r.data for r in results] == [3.0, 3.0, 1.0, -1.0, 6.0, 6.0, 0.5, 2.0, 4.0, 4.0]


def test_division_is_its_own_rule_not_a_power():
    z = Value(1.0) / Value(2.0)
    assert z.op == "div"


def test_ieee_results_never_python_errors():
    assert Value(0.0).log().data == -math.inf
    assert math.isnan(Value(-1.0).log().data)
    assert (1 / Value(0.0)).data == math.inf
    assert (Value(1.0) / 0).data == math.inf
    assert math.isnan(Value(-1.0).sqrt().data)
    assert math.isnan((Value(-2.0) ** 0.5).data)
    assert (Value(1000.0).exp()).data == math.inf
    assert (Value(1e200) ** 2).data == math.inf
    assert isinstance((Value(-8.0) ** (1 / 3)).data, float)


@pytest.mark.parametrize("bad", ["1", None, [1.0], 1j])
def test_non_numbers_raise_type_error(bad):
    with pytest.raises(TypeError):
        Value(bad)
    with pytest.raises(TypeError):
        Value(1.0) + bad
    with pytest.raises(TypeError):
        bad * Value(1.0)


def test_reused_nodes_accumulate():
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    assert (b.grad, a.grad) == (12.0, 24.0)


def test_backward_twice_adds_one_more_gradient_to_leaves_only():
    a = Value(3.0)
    b = a + a
    c = b * b
    c.backward()
    c.backward()
    assert b.grad == 12.0  # interior: this pass only
    assert a.grad == 48.0  # leaf: accumulated, as torch does


def test_grad_does_not_touch_dot_grad():
    x, y = Value(2.0), Value(5.0)
    gx, gy = grad(x * y, [x, y])
    assert (gx.data, gy.data, x.grad, y.grad) == (5.0, 2.0, 0.0, 0.0)


def test_grad_of_unused_input_is_zero():
    x, y = Value(2.0), Value(5.0)
    assert grad(x * 3, [x, y])[1].data == 0.0


def test_second_and_third_derivatives():
    x = Value(1.5)
    (g,) = grad(x ** 3, [x], create_graph=True)
    (h,) = grad(g, [x], create_graph=True)
    (k,) = grad(h, [x])
    assert (g.data, h.data, k.data) == (3 * 1.5 ** 2, 6 * 1.5, 6.0)


@pytest.mark.parametrize("op", [op for op in UNARY if op not in ("relu", "abs", "neg")])
def test_second_derivative_matches_torch(op):
    engine_fn, torch_fn, _ = UNARY[op]
    x0 = 0.7
    x = Value(x0)
    (g,) = grad(engine_fn(x), [x], create_graph=True)
    (h,) = grad(g, [x])
    t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch_fn(t), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg, [t])
    assert same_float(g.data, tg.item()) and same_float(h.data, th.item(), rtol=1e-11)


def test_mixed_second_derivatives_of_binary_ops():
    for fn in (lambda a, b: a / b, lambda a, b: a ** b, lambda a, b: a * b * b):
        x, y = Value(1.3), Value(0.7)
        gx, _ = grad(fn(x, y), [x, y], create_graph=True)
        hxy = grad(gx, [y])[0].data
        tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.3, 0.7))
        tgx, _ = torch.autograd.grad(fn(tx, ty), [tx, ty], create_graph=True)
        assert same_float(hxy, torch.autograd.grad(tgx, [ty])[0].item(), rtol=1e-11)


def test_million_node_chain_at_default_recursion_limit():
    limit = sys.getrecursionlimit()  # another library in this process may have raised it (tinygrad sets 10000)
    sys.setrecursionlimit(min(limit, 1000))  # the default: backward must not recurse
    try:
        x = Value(0.5)
        v = x
        for _ in range(1_000_000):
            v = v + 1e-7
        v.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad == 1.0
    assert math.isclose(v.data, 0.5 + 0.1, rel_tol=1e-9)


def test_graph_is_freed_without_the_cycle_collector():
    # No closures pointing back at their node: dropping the output frees the graph by refcount alone.
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        x = Value(0.1)
        v = x
        for _ in range(10_000):
            v = (v * 1.0001).tanh()
        v.backward()
        peak_with_graph = tracemalloc.get_traced_memory()[0]
        del v
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        gc.enable()
    assert after < peak_with_graph / 20


def test_value_uses_slots():
    assert not hasattr(Value(1.0), "__dict__")


def _random_dag(rng, size: int):
    """A random graph with shared nodes (values feeding several ops), its root last."""
    pool = [Value(rng.uniform(-1, 1)) for _ in range(rng.randint(1, 4))]
    for _ in range(size):
        x, y, k = rng.choice(pool), rng.choice(pool), rng.random()
        pool.append(x + y if k < 0.3 else x * y if k < 0.6 else x ** 2 if k < 0.7 else x.tanh() if k < 0.8
                    else 2.0 * x if k < 0.9 else x.sigmoid() - y)
    return pool


def test_backward_walks_the_graph_in_the_same_order_as_the_public_traversal():
    """backward's fast walk gives the postorder of autodiff.graph.topological, so sums keep their order."""
    import random

    from autodiff.engine import _interior_order
    from autodiff.graph import topological
    rng = random.Random(1)
    for _ in range(500):
        pool = _random_dag(rng, rng.randint(1, 40))
        root = rng.choice(pool[-5:])
        want = [n for n in topological(root) if n.op]
        assert [id(n) for n in _interior_order(root)] == [id(n) for n in want]
        for n in want:
            n.grad = 0.0


def test_backward_sums_each_gradient_in_the_lecture_order():
    """backward() equals node._backward() over reversed(topological): the same sums in the same order."""
    import random

    from autodiff.graph import topological
    rng = random.Random(2)
    for _ in range(200):
        pool = _random_dag(rng, rng.randint(5, 40))
        root = pool[-1]
        nodes = topological(root)
        root.backward()
        got = [n.grad for n in nodes]
        for n in nodes:
            n.grad = 0.0
        root.grad = 1.0
        for n in reversed(nodes):
            n._backward()
        assert [same_float(a, n.grad) for a, n in zip(got, nodes)] == [True] * len(nodes)


def test_training_step_gradients_are_bit_identical_to_the_engine_before_its_fast_paths():
    """Three SGD steps of the bench's MLP give the gradients and weights of the engine at e8795b5 bit for bit."""
    import hashlib
    import random

    from autodiff import MLP, SGD
    from autodiff.losses import mse
    rng = random.Random(0)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(100)]
    Y = [rng.uniform(-1, 1) for _ in range(100)]
    model = MLP(2, [16, 16, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        loss = mse([model(x) for x in X], Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    text = " ".join(p.grad.hex() + p.data.hex() for p in model.parameters())
    want = "56f6ba008d579edf6f84d3059598e8015e7ad73b46692cf28c28f01295c49256"
    assert hashlib.sha256(text.encode()).hexdigest() == want


def test_a_step_that_raises_leaves_no_walk_marks_behind():
    """A replaced rule that raises mid-backward: the next backward (with the row restored) is still right."""
    from autodiff import rules

    def boom(m, z, x):
        if x == x:  # a comparison: the step calls this rule as it is, at run time
            raise ZeroDivisionError("planted")

    x = Value(0.5)
    y = (x.tanh() * x).tanh() + x
    with rules.override(rules.replaced("tanh", partials=(boom,))):
        with pytest.raises(ZeroDivisionError):
            y.backward()
    x.grad = 0.0
    y.backward()
    t = math.tanh(0.5)
    inner = t * 0.5
    want = (1 - math.tanh(inner) ** 2) * ((1 - t * t) * 0.5 + t) + 1
    assert x.grad == pytest.approx(want, rel=1e-15)


def test_mul_add_fast_path_makes_the_nodes_the_operators_make():
    """Value._mul_add (a neuron's weighted sum) builds acc + w * x node for node, and follows a replaced row."""
    from autodiff import rules
    acc, w, x = Value(0.25), Value(-1.5), Value(3.0)
    fast, slow = Value._mul_add(acc, w, x), acc + w * x
    for a, b in ((fast, slow), (fast._b, slow._b)):
        assert (a.data, a.op, a.grad, a.label) == (b.data, b.op, b.grad, b.label)
    assert fast._a is acc and fast._b._a is w and fast._b._b is x
    assert Value._mul_add(acc, w, 2.0).data == (acc + w * 2.0).data  # a number: through the operators
    with rules.override(rules.replaced("mul", forward=lambda m, x, y: x * y + 1.0)):
        assert Value._mul_add(acc, w, x).data == 0.25 + (-1.5 * 3.0 + 1.0)
    assert Value._mul_add(acc, w, x).data == 0.25 - 4.5
