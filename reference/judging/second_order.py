"""What is genuinely second order in judging a Hessian: its entries, float64's own error of each entry,
the exact Hessian with declared conventions at edges, asymmetric mixed partials, and the methods' known
limitations. ``judge.judge(..., order=2)`` calls these; everything else is the one pipeline of every order.

``H[x][y]`` is d/dy of df/dx. Both orders of every mixed partial are computed where the method
has two (reverse over reverse and forward over reverse differentiate each partial on its own),
so an asymmetric pair is seen, never averaged away. Each backend computes its Hessian itself
(``Backend._hessian``); those without one get no order-2 record.

Tolerances per entry: ``|b - o| <= atol + rtol * |o| + FLOAT_FACTOR * e`` where ``e`` is that
entry's own float64 error bound: the first-order error analysis of ``PointGraph`` run over
the graph of the partial df/dx_i (the reverse pass written as a graph with the registry's true
rules, as ``create_graph`` builds it). It is computed only when an entry fails without it.

At an op's declared edge the Hessian must equal the exact chain rule with that op's declared
first-order convention (``conventions.CONVENTIONS``) and second-order convention
(``conventions.SECOND``) as the node's local partials; ``chain.Graph`` overrides only first
partials unless given the second ones too (``Graph.run(2, first, second)``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from autodiff import Value
from autodiff.engine import VALUE_MATH
from reference.backends import BACKENDS, DEFAULT_BACKENDS
from reference.backends.base import is_finite_difference, offers_hessian
from reference.backends.callable_subject import SubjectBackend
from reference.core.budget import DEFAULT_BUDGET, cpu_budget
from reference.core.errors import NoOracle
from reference.corpus.cases import Case
from reference.judging.point_graph import FLOAT_FACTOR, PointGraph, rule_of
from reference.oracle.balls import settle
from reference.oracle.chain import Graph

__all__ = ["KNOWN", "asymmetry", "describe_methods", "entries", "exact_hessian_with", "hessian_float_errors",
           "mixed_pair_differs", "nested"]

# Known limitations of a method at second order: (case name, point) -> {backend: why}.
_TORCH_POW_MASK = ("torch's pow_backward_self is where(exponent == 0, 0, grad * exponent * x**(exponent - 1)): "
                   "differentiating it in the exponent goes through the where's constant branch, so d/dy(df/dx) = 0 "
                   "at y = 0, while d/dx(df/dy) = x**(y-1) = 1/x is right; the engine's mul0(y, x**(y-1)) keeps "
                   "the factor y and gives 1/x in both orders")
_STENCIL_OVER_EDGE = ("the stencil x +- h reaches past the edge, where the engine's gradient is nan or of the "
                      "other branch")
KNOWN: dict[tuple[str, tuple], dict[str, str]] = {
    ("pow", (2.0, 0.0)): {"torch": _TORCH_POW_MASK},
    ("pow", (0.0, 2.0)): {
        "torch": "pow_backward_exponent is where(x == 0 & y >= 0, 0, grad*result*log(x)): autograd still "
                 "differentiates the masked branch, and 0 * log(0) = nan reaches the row of d/dy (torch.where's "
                 "nan-gradient trap)",
        "fd-central": "d/dx of df/dy: the stencil reaches x = -h, where df/dy = z*log(x) is nan"},
    ("powc[c=-1]", (0.0,)): {"fd-central": "the stencil straddles the pole: g(h) and g(-h) are both -1/h**2, "
                                           "so the difference is 0"},
    ("log", (0.0,)): {"fd-central": _STENCIL_OVER_EDGE},
    ("div", (1.0, 0.0)): {"fd-central": "the stencil straddles the pole at y = 0: differences of +-inf and of finite "
                                        "gradients either side"},
    ("div", (0.0, 0.0)): {"fd-central": "the stencil straddles the pole at y = 0: differences of +-inf and of finite "
                                        "gradients either side"},
    ("log1p", (-1.0,)): {"fd-central": _STENCIL_OVER_EDGE},
    ("log", (1e-300,)): {"fd-central": "the step (at least 6e-6) dwarfs x = 1e-300 and leaves the domain"},
    ("softplus", (25.0,)): {"torch": "torch's softplus is x itself above its threshold 20: its second derivative "
                                     "is exactly 0 there; the true one is sigmoid'(25) = 1.4e-11"},
    ("softplus", (20.5,)): {"torch": "torch's softplus is x itself above its threshold 20: its second derivative "
                                     "is exactly 0 there; the true one is sigmoid'(20.5) = 1.25e-9"},
}


def entries(case: Case) -> list[tuple[int, int, str]]:
    """(i, j, "x,y") of every entry H[i][j] of the case's Hessian, row by row."""
    v = case.variables
    return [(i, j, f"{v[i]},{v[j]}") for i in range(len(v)) for j in range(len(v))]


def nested(h: list[list[float]], case: Case) -> dict:
    """H as {x: {y: H[x][y]}} (the records' and the JSON's form)."""
    v = case.variables
    return {v[i]: {v[j]: h[i][j] for j in range(len(v))} for i in range(len(v))} if h else {}


def mixed_pair_differs(x: float, y: float, rel: float = 1e-8) -> bool:
    """The two orders of a mixed partial differ beyond rounding (or one is nan or inf and the other not)."""
    if x == y or (x != x and y != y):
        return False
    if not (math.isfinite(x) and math.isfinite(y)):
        return True
    return abs(x - y) > rel * max(abs(x), abs(y))


def asymmetry(h: list[list[float]], case: Case) -> str:
    """A note's tail naming the first mixed pair whose two orders differ ('' if none)."""
    v = case.variables
    pairs = [(i, j) for i in range(len(v)) for j in range(i + 1, len(v)) if mixed_pair_differs(h[i][j], h[j][i])]
    if not pairs:
        return ""
    i, j = pairs[0]
    return (f"; its mixed partials differ by order: d/d{v[j]}(df/d{v[i]}) = {h[i][j]:.17g}, "
            f"d/d{v[i]}(df/d{v[j]}) = {h[j][i]:.17g}")


# -- the exact Hessian with declared conventions at edge nodes --------------------------------------
def exact_hessian_with(case: Case, point: Sequence[float], first: dict, second: dict) -> list[list[float]] | None:
    """The exact Hessian with the given local partials at edge nodes (None if it cannot be settled)."""
    try:
        with cpu_budget(DEFAULT_BUDGET):
            g = Graph(case, point)
            doubles, _ = settle(lambda: g.run(2, first, second))
    except NoOracle:
        return None
    n = g.n
    if any(d is None for d in doubles[1 + n:]):
        return None
    flat = doubles[1 + n:]
    return [list(flat[i * n:(i + 1) * n]) for i in range(n)]


# -- float64's own error of each entry ---------------------------------------------------------------
def _true_gradient_graph(graph: PointGraph) -> list:
    """The partials df/dx_i as Value graphs built with the registry's true rules (as create_graph does)."""
    out = graph.out
    adj: dict[int, object] = {id(out): Value(1.0)}
    for n in reversed(graph.nodes):
        rule = rule_of(n)
        if rule is None or id(n) not in adj:
            continue
        a = adj[id(n)]
        kids = n.children
        for k, c in enumerate(kids):
            p = rule.partial(k, VALUE_MATH, n, *kids, *n.args)
            d = a * p
            adj[id(c)] = d if id(c) not in adj else adj[id(c)] + d
    return [adj.get(id(leaf), 0.0) for leaf in graph.leaves]


def hessian_float_errors(graph: PointGraph, rows: Sequence[int]) -> dict[int, list[float]]:
    """Per row i: the first-order float64 error bound of each d/dx_j of df/dx_i (0 where not finite)."""
    if graph.out is None:
        return {}
    try:
        partials = _true_gradient_graph(graph)
    except (ArithmeticError, ValueError):  # a partial the engine cannot build here: no widening
        return {}
    out = {}
    n = len(graph.leaves)
    for i in rows:
        g = partials[i]
        if not isinstance(g, Value) or g._rule is None:
            out[i] = [0.0] * n
            continue
        pg = PointGraph.from_output(graph.case, graph.values, graph.leaves, g)
        out[i] = pg.float_errors[1:]
    return out


def describe_methods() -> list[dict]:
    """Each second-order method and its tolerance, for the report: the default backends with a Hessian, then
    a callable subject's."""
    classes = [BACKENDS[name] for name in DEFAULT_BACKENDS if offers_hessian(BACKENDS[name])] + [SubjectBackend]
    out = []
    for cls in classes:
        method = cls.hessian_method or cls.method
        rtol = cls.rtol if cls.hessian_rtol is None else cls.hessian_rtol
        atol = "rtol * max(1, |df/dx_i|)" if is_finite_difference(cls) else "0"
        out.append({"name": cls.name, "method": method, "rtol": rtol,
                    "tolerance": f"|b - o| <= {atol} + {rtol:g} * |o| + {FLOAT_FACTOR:g} * e"})
    return out
