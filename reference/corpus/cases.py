"""The corpus: each case written once, as a function over a math namespace ``m``.

``lambda m, x, y: m.tanh(x / y)`` runs unchanged on the engine's Values (so ``x / y``
exercises the engine's own division rule), on torch tensors, on SymPy symbols and on
floats for finite differences. A case carries its points (edge points name the
convention that applies there), its tags and its tolerance factor.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from autodiff import MLP, RULES, Value
from autodiff.engine import VALUE_MATH
from autodiff.graph import topological


@dataclass(frozen=True)
class Point:
    """Where a case is evaluated; ``edge`` names a convention of conventions.py, if any."""

    values: tuple[float, ...]
    edge: str = ""
    known: dict[str, str] = field(default_factory=dict)  # backend -> why its mismatch here is expected


@dataclass(frozen=True, eq=False)
class Case:
    """One function of named variables, its points, tags and tolerance factor."""

    name: str
    fn: Callable
    variables: tuple[str, ...]
    points: tuple[Point, ...]
    tags: frozenset[str] = field(default_factory=frozenset)
    note: str = ""
    tol: float = 1.0  # multiplies every backend's rtol (for ill-conditioned cases)

    def engine_nodes(self, values: tuple[float, ...]) -> list[Value]:
        """Every node of the engine's graph of this case at ``values`` (empty if it fails or is constant)."""
        try:
            out = self.fn(VALUE_MATH, *[Value(x) for x in values])
        except Exception:  # a case that the engine cannot run has no graph to read
            return []
        return topological(out) if isinstance(out, Value) else []

    @cached_property
    def ops(self) -> frozenset[str]:
        """The engine's primitive ops this case uses (read off the engine's graph)."""
        point = next((p.values for p in self.points if all(math.isfinite(x) for x in p.values)),
                     (0.5,) * len(self.variables))
        return frozenset(n.op for n in self.engine_nodes(point) if n.op)

    def edges_at(self, values: tuple[float, ...]) -> list[str]:
        """The edge keys (registry ``Edge.key``) of every node in the engine's graph that sits on one here."""
        keys = []
        for node in self.engine_nodes(values):
            edge = edge_of(node)
            if edge is not None and edge.key not in keys:
                keys.append(edge.key)
        return keys

    def edge_at(self, values: tuple[float, ...]) -> str:
        """The convention key of the first op in the engine's graph on an edge here ('' if none)."""
        keys = self.edges_at(values)
        return keys[0] if keys else ""

    def kink_at(self, values: tuple[float, ...]) -> bool:
        """Whether an op in the engine's graph sits exactly on a kink (relu or abs at 0, a tie of maximum...)."""
        return any((edge := edge_of(n)) is not None and edge.kind == "kink" for n in self.engine_nodes(values))

    @property
    def all_tags(self) -> frozenset[str]:
        return self.tags | {f"op:{op}" for op in self.ops}


def edge_of(node: Value):
    """The registry edge an engine node sits on, if any (read from its row)."""
    rule = node.rule
    if rule is None or not rule.edges:
        return None
    return rule.edge_at(*[c.data for c in node.children], *node.args)


def variables_of(fn: Callable) -> tuple[str, ...]:
    """The names after ``m`` in the function's signature."""
    names = list(inspect.signature(fn).parameters)
    if not names or names[0] != "m":
        raise ValueError("a case function takes the math namespace m first")
    return tuple(names[1:])


def case(name: str, fn: Callable, points: Iterable, tags: Iterable[str] = (), note: str = "",
         tol: float = 1.0) -> Case:
    """Build a Case; points are tuples (or numbers) or ``Point``s."""
    pts = []
    for p in points:
        if not isinstance(p, Point):
            p = Point(tuple(float(x) for x in (p if isinstance(p, tuple) else (p,))))
        pts.append(p)
    return Case(name, fn, variables_of(fn), tuple(pts), frozenset(tags), note, tol)


def make_point(*values: float, edge: str = "", known: dict[str, str] | None = None) -> Point:
    """A point; ``edge`` names its convention, ``known`` lists expected failures of a method."""
    return Point(tuple(float(v) for v in values), edge, dict(known or {}))


INF = math.inf
_FD = ("fd-forward", "fd-central", "fd-five-point", "fd-richardson")

# Known limitations of the methods, stated once and attached to the points where they bite.
_STENCIL_CROSSES_ZERO = {name: "the symmetric stencil reaches x < 0, where x**2.5 is nan"
                         for name in _FD[1:]}
_EXP_STEP = {name: "the step scales with |x| (about 700 * h): exp's higher derivatives, as large as exp, "
                   "make the truncation error large, and near 709.78 the stencil overflows" for name in _FD}
_STEP_OVER_ZERO = {**{name: "the step (at least 1e-8) dwarfs x = 1e-300 and leaves the domain" for name in _FD},
                   "fd-complex-step": "the step 1e-20 dwarfs x = 1e-300, so Im f(x + ih) / h is not the slope"}
_PERIODIC_STEP = {name: "the step scales with |x|: at x = 1e6 it is 0.015 to 740, a good part of a period"
                  for name in _FD}
_NEAR_ZERO_ABOVE_A_KINK = {name: "the stencil straddles 0, where x**2.5 has no real value to the left"
                           for name in _FD[1:]}
_TAN_NEAR_POLE = {name: "tan has a pole at pi/2, 0.07 away: its higher derivatives are huge there"
                  for name in ("fd-five-point", "fd-richardson")}
_UNDERFLOW_BASE = {"fd-richardson": "(-2)**(y + h) is nan for every non-integer y + h: the differences are 0 or nan"}
# Known limitations of the references at particular points of the primitive cases: (case, point) -> why.
KNOWN: dict[tuple[str, tuple], dict[str, str]] = {
    ("powc[c=2.5]", (0.0,)): _STENCIL_CROSSES_ZERO,
    ("pow", (-2.0, -2000.0)): _UNDERFLOW_BASE,
    ("exp", (700.0,)): _EXP_STEP, ("exp", (709.7,)): _EXP_STEP,
    ("log", (1e-300,)): _STEP_OVER_ZERO, ("sqrt", (1e-300,)): _STEP_OVER_ZERO,
    ("sin", (1e6,)): _PERIODIC_STEP, ("cos", (1e6,)): _PERIODIC_STEP,
    ("tan", (1.5,)): _TAN_NEAR_POLE,
    ("sigmoid", (-800.0,)): {
        "sympy": "SymPy's derivative exp(-x)/(1 + exp(-x))**2 is inf/inf = nan in float64 at x = -800",
        "fd-complex-step": "exp(800) overflows in the complex evaluation: inf/inf = nan"},
    ("softplus", (800.0,)): {
        "sympy": "SymPy's log(1 + exp(x)) overflows to inf in float64 past x = 709",
        "fd-complex-step": "exp(800) overflows in the complex evaluation"},
    ("softplus", (20.5,)): {
        "torch": "torch's softplus returns x itself above its threshold 20, so its slope is exactly 1; the true "
                 "slope sigmoid(20.5) = 1 - 1.2e-9"},
    ("log1p", (1e-20,)): {"sympy": "SymPy writes log1p(x) as log(x + 1): 1 + 1e-20 rounds to 1 in float64, so the "
                                   "value is 0"},
}
_NEAR_POLE = {"fd-five-point": "10/f has a pole at b = 1.915, 0.085 away: the 5th derivative is huge",
              "fd-richardson": "the first step (0.125) straddles the pole of 10/f at b = 1.915"}

# -- every primitive, at ordinary points and at its edges: one case per op (and per parameter value) ----
_INPUTS = ("x", "y")
_OPERATORS = {"+": lambda m, x, y: x + y, "-": lambda m, x, y: x - y, "*": lambda m, x, y: x * y,
              "/": lambda m, x, y: x / y, "**": lambda m, x, y: x ** y}


def primitive_function(name: str, params: tuple = ()) -> Callable:
    """The op alone as a case function: operators through Python's operators, functions through ``m``."""
    rule = RULES[name]
    if rule.spelling.operator == "neg":
        return lambda m, x: -x
    if rule.spelling.operator and params:
        (c,) = params
        return lambda m, x: x ** c
    if rule.spelling.operator:
        return _OPERATORS[rule.spelling.operator]
    if rule.arity == 2:
        return lambda m, x, y: getattr(m, name)(x, y, *params)
    return lambda m, x: getattr(m, name)(x, *params)


def primitive_cases(name: str) -> list[Case]:
    """The registry row's points as cases: one per value of its constant parameters."""
    rule = RULES[name]
    groups: dict[tuple, list] = {}
    for p in rule.sampling.points:
        groups.setdefault(tuple(float(v) for v in p[rule.arity:]), []).append(tuple(float(v) for v in p[:rule.arity]))
    out = []
    for params, points in groups.items():
        label = name if not params else f"{name}[{', '.join(f'{k}={v:g}' for k, v in zip(rule.params, params))}]"
        kinds = {e.kind for e in rule.edges for values in points if e.test(*values, *params)}
        tags = {"primitive", f"op:{name}", *(f"edge:{k}" for k in kinds)}
        out.append(Case(label, primitive_function(name, params), _INPUTS[:rule.arity],
                        tuple(Point(values, known=KNOWN.get((label, values), {})) for values in points),
                        frozenset(tags)))
    return out


PRIMITIVE_CASES = [c for name in RULES for c in primitive_cases(name)]


# -- composites: the seeds of the field and friends -------------------------------------------
def micrograd_sanity(m, x):
    """micrograd's first published test expression (test_sanity_check)."""
    z = 2 * x + 2 + x
    q = m.relu(z) + z * x
    h = m.relu(z * z)
    return h + q + q * x


def micrograd_more_ops(m, a, b):
    """micrograd's second published test expression (test_more_ops)."""
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + m.relu(b + a)
    d = d + 3 * d + m.relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    return g + 10.0 / f


def polynomial(m, x, k0, k1, k2, k3, k4, k5):
    """The polynomial curve fit's model."""
    return k0 + k1 * x + k2 * x ** 2 + k3 * x ** 3 + k4 * x ** 4 + k5 * x ** 5


def deep_tanh(m, x):
    """tanh applied 50 times: a deep chain."""
    for _ in range(50):
        x = m.tanh(x)
    return x


def deep_sin_mul(m, x, y):
    """60 alternating ops, each reusing y."""
    for _ in range(30):
        x = m.sin(x) * y
    return x


def reused(m, x, y):
    """One subexpression used four times."""
    a = x * y
    return (a + a * a) * m.sin(a)


def tiny_net(m, x, w1, b1, w2, b2):
    """A 1-1-1 tanh network by hand."""
    return m.tanh(w2 * m.tanh(w1 * x + b1) + b2)


def bce(m, z, t):
    """Binary cross-entropy through log(sigmoid)."""
    s = m.sigmoid(z)
    return -(t * m.log(s) + (1 - t) * m.log(1 - s))


def product6(m, a, b, c, d, e, f):
    return a * b * c * d * e * f


def sum_of_sigmoids(m, a, b, c, d, e, f, g, h):
    return sum((m.sigmoid(v * (i + 1)) for i, v in enumerate((a, b, c, d, e, f, g, h))), 0.0)


COMPOSITE_CASES = [
    case("x+y*z", lambda m, x, y, z: x + y * z, [(1, 2, 3), (-0.5, 4, -2)], ["seed"]),
    case("tanh_neuron", lambda m, x1, x2, w1, w2, b: m.tanh(x1 * w1 + x2 * w2 + b),
         [(2, 0, -3, 1, 6.8813735870195432), (0.5, -1, 0.3, 0.7, -0.1)], ["seed"]),
    case("micrograd_sanity", micrograd_sanity, [-4, 1.5], ["seed", "reuse"]),
    case("micrograd_more_ops", micrograd_more_ops, [make_point(-4, 2, known=_NEAR_POLE), (1.5, -0.5)],
         ["seed", "reuse"]),
    case("polynomial5", polynomial, [(0.5, 1, -2, 0.5, 3, -1, 0.25), (-1.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)],
         ["seed"]),
    case("log(1+exp(x))", lambda m, x: m.log(1 + m.exp(x)), [-3, 0, 2.5, 30], ["seed"]),
    case("logsumexp", lambda m, x, y, z: m.log(m.exp(x) + m.exp(y) + m.exp(z)), [(1, 2, 3), (-1, 0.5, -2)],
         ["seed"]),
    case("sigmoid_via_exp", lambda m, x: 1 / (1 + m.exp(-x)), [-2, 0, 3], ["seed"]),
    case("rosenbrock", lambda m, x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, [(-1.2, 1), (1, 1), (0.5, 0.3)],
         ["seed"]),
    case("tanh(x/y)", lambda m, x, y: m.tanh(x / y), [(0.5, 2), (-1, 0.5)], ["seed"]),
    case("x*y+sin(x)", lambda m, x, y: x * y + m.sin(x), [(1, 2), (-0.3, 5)], []),
    case("exp(x)*sin(y)", lambda m, x, y: m.exp(x) * m.sin(y), [(0.5, 1), (-2, 3)], []),
    case("(x*y)**2/(x+y)", lambda m, x, y: (x * y) ** 2 / (x + y), [(1, 2), (-3, 0.5)], []),
    case("norm2", lambda m, x, y: m.sqrt(x ** 2 + y ** 2), [(3, 4), (-1, 0.5)], []),
    case("log_sigmoid", lambda m, x: m.log(m.sigmoid(x)), [-5, 0, 5], []),
    case("1-tanh**2", lambda m, x: 1 - m.tanh(x) ** 2, [0.5, -2, 8], ["cancellation"],
         note="1 - tanh(8)**2 cancels 7 digits in float64, in every float method alike: the harness widens "
              "the tolerance to the float program's own error there"),
    case("x**y**z", lambda m, x, y, z: x ** (y ** z), [(1.5, 2, 0.5), (2, 0.5, 3)], []),
    case("deep_tanh", deep_tanh, [0.5, -2], ["deep"]),
    case("deep_sin_mul", deep_sin_mul, [(0.5, 0.9), (1, -1.1)], ["deep", "reuse"]),
    case("reused_subexpression", reused, [(0.5, 1.5), (-1, 0.7)], ["reuse"]),
    case("gaussian", lambda m, x: m.exp(-x ** 2 / 2), [0, 1, -2.5], []),
    case("softsign", lambda m, x: x / (1 + m.abs(x)), [-2, 0.5], []),
    case("relu*relu", lambda m, x, y: m.relu(x) * m.relu(y), [(1, 2), (-1, 2), (0.5, -3)], ["nonsmooth"]),
    case("cos**2+sin**2", lambda m, x: m.cos(x) ** 2 + m.sin(x) ** 2, [0.3, 2], ["cancellation"]),
    case("product6", product6, [(1, 2, 3, 4, 5, 6), (0.5, -1, 2, -0.25, 3, 1.5)], []),
    case("softmax_0", lambda m, x, y, z: m.exp(x) / (m.exp(x) + m.exp(y) + m.exp(z)), [(1, 2, 3), (0, -1, 0.5)],
         []),
    case("tanh_via_exp", lambda m, x: (m.exp(x) - m.exp(-x)) / (m.exp(x) + m.exp(-x)), [0.5, -1, 3], []),
    case("linear_mse", lambda m, w, b, x, t: (w * x + b - t) ** 2, [(0.5, 0.1, 2, 1), (-1, 0, 3, 2)], ["seed"]),
    case("bce", bce, [(0.5, 1), (-2, 0), (3, 0.3)], ["seed"]),
    case("hinge", lambda m, s, y: m.relu(1 - y * s), [(0.3, 1), (2, 1), (0.5, -1)], ["seed", "nonsmooth"]),
    case("log(x)/x", lambda m, x: m.log(x) / x, [0.5, 2.718281828459045, 10], []),
    case("x**x", lambda m, x: x ** x, [0.5, 2, 3.5], ["reuse"]),
    case("2**x*3**y", lambda m, x, y: 2 ** x * 3 ** y, [(1, 2), (-0.5, 0.5)], []),
    case("sin(x*y+cos(z))", lambda m, x, y, z: m.sin(x * y + m.cos(z)), [(1, 2, 3), (-0.5, 0.25, 1)], []),
    case("sqrt(1+x**2)", lambda m, x: m.sqrt(1 + x ** 2), [0, 1.5, -20], []),
    case("x/(x**2+1)", lambda m, x: x / (x ** 2 + 1), [0, 1, -3], []),
    case("exp(sin)*log(1+y**2)", lambda m, x, y: m.exp(m.sin(x)) * m.log(1 + y ** 2), [(1, 2), (-2, 0.5)], []),
    case("oscillator_energy", lambda m, mass, v, k, x: 0.5 * mass * v ** 2 + 0.5 * k * x ** 2,
         [(2, 3, 5, 0.5), (1, -1, 2, -2)], []),
    case("himmelblau", lambda m, x, y: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2, [(3, 2), (-1, 1)], []),
    case("beale", lambda m, x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
         + (2.625 - x + x * y ** 3) ** 2, [(3, 0.5), (1, 1)], []),
    case("tiny_net", tiny_net, [(0.5, 1.2, -0.3, 0.8, 0.1), (-1, 0.5, 0.5, -2, 0)], ["seed"]),
    case("logistic_loss", lambda m, w, b, x, y: m.log(1 + m.exp(-y * (w * x + b))), [(0.5, 0.1, 2, 1),
                                                                                     (-1, 0.3, 1.5, -1)], ["seed"]),
    case("(x-1)**3", lambda m, x: (x - 1) ** 3, [1.0001, 3], []),
    case("x*log(x)", lambda m, x: x * m.log(x), [0.1, 1, 5], []),
    case("sqrt*sqrt", lambda m, x: m.sqrt(x) * m.sqrt(x), [0.5, 4], []),
    case("runge", lambda m, x: 1 / (1 + 25 * x ** 2), [0, 0.2, -1], []),
    case("((x**2)**3)**0.5", lambda m, x: ((x ** 2) ** 3) ** 0.5, [0.5, -1.5], []),
    case("sum_of_sigmoids", sum_of_sigmoids, [(0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8)], []),
    case("exp(x)/exp(x)", lambda m, x: m.exp(x) / m.exp(x), [1, 300], ["cancellation"]),
    case("sin(x)/x", lambda m, x: m.sin(x) / x, [1e-3, 1, 10], ["cancellation"]),
]
COMPOSITE_CASES = [
    Case(c.name, c.fn, c.variables, c.points, c.tags | {"composite"}, c.note, c.tol) for c in COMPOSITE_CASES]

CORPUS: list[Case] = PRIMITIVE_CASES + COMPOSITE_CASES


# -- small networks: the same MLP (fixed weights, fixed batch) as one function of its parameters ----
_ACT = {"tanh": lambda m, v: m.tanh(v), "relu": lambda m, v: m.relu(v), "sigmoid": lambda m, v: m.sigmoid(v)}


def mlp_loss(nin: int, sizes: list[int], activation: str, X: list, Y: list) -> Callable:
    """f(m, *params) = mean squared error of the MLP over (X, Y), params in autodiff's order."""
    act = _ACT[activation]

    def fn(m, *params):
        total = 0.0
        for x, y in zip(X, Y):
            k, h = 0, list(x)
            for depth, nout in enumerate(sizes):
                out = []
                for _ in range(nout):
                    s = params[k + len(h)]  # the bias, then the weighted inputs (as Neuron sums them)
                    for w, v in zip(params[k:k + len(h)], h):
                        s = s + w * v
                    k += len(h) + 1
                    out.append(s if depth == len(sizes) - 1 else act(m, s))
                h = out
            total = total + (h[0] - y) ** 2
        return total / len(X)
    return fn


def mlp_case(nin: int, sizes: list[int], activation: str, seeds=(0, 1), batch: int = 4) -> Case:
    """An MLP case: its parameters are the variables, initialised by autodiff.MLP from each seed."""
    import random

    rng = random.Random(1000 + nin)
    X = [[round(rng.uniform(-1, 1), 3) for _ in range(nin)] for _ in range(batch)]
    Y = [round(rng.uniform(-1, 1), 3) for _ in range(batch)]
    points = tuple(Point(tuple(p.data for p in MLP(nin, sizes, activation, seed=s).parameters())) for s in seeds)
    names = tuple(f"p{i}" for i in range(len(points[0].values)))
    name = f"mlp{nin}-{'-'.join(map(str, sizes))}-{activation}"
    note = f"MLP({nin}, {sizes}, {activation!r}), MSE over {batch} samples"
    return Case(name, mlp_loss(nin, sizes, activation, X, Y), names, points, frozenset({"mlp", "composite"}), note)


MLP_CASES = [
    mlp_case(2, [3, 1], "tanh"),
    mlp_case(3, [4, 1], "sigmoid"),
    mlp_case(2, [4, 4, 1], "relu"),
    mlp_case(1, [8, 8, 1], "tanh"),
]
CORPUS += MLP_CASES


def by_name(name: str) -> Case:
    """The corpus case called ``name``."""
    for c in CORPUS:
        if c.name == name:
            return c
    raise KeyError(f"no case named {name!r}")


def select(pattern: str | None, cases: list[Case] | None = None) -> list[Case]:
    """Cases whose name contains ``pattern`` or that carry it as a tag (all when None)."""
    cases = CORPUS if cases is None else cases
    if not pattern:
        return list(cases)
    return [c for c in cases if pattern in c.name or pattern in c.all_tags]
