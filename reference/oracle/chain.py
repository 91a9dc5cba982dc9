"""The exact chain rule over a case's own computation graph, at high precision.

The case runs once on the engine's Values to record its graph (which op, which inputs, which
constants). Every node is then recomputed exactly from the op's mathematical definition
(``definitions.op_definition``: the registry row's ``sympy`` entry), each local
partial comes from ``sympy.diff`` of that definition (never from the engine's own rules), and
the chain rule runs in mpmath at rising precision. Second derivatives come from
forward-over-reverse with sparse tangents (a missing entry is a structural zero).

Where a node sits on a declared edge of its op (the registry row's ``edges``, tested on the
float values a backend sees) and ``overrides`` names that edge, the node's local partials are
the given numbers: what the oracle says under that op's convention.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import sympy

from autodiff.engine import VALUE_MATH, Value
from autodiff.graph import topological
from reference.core.errors import NoOracle
from reference.oracle.balls import Program, ball_add, ball_mul, exact_ball
from reference.oracle.definitions import SYMPY_NS, exact_number, op_definition

__all__ = ["Graph", "trace"]

_ONE, _ZERO = exact_ball(1.0), exact_ball(0.0)


class _Local:
    """One op with fixed parameters: its value, partials and second partials as one program."""

    def __init__(self, rule, arity: int, params: tuple) -> None:
        symbols = list(sympy.symbols(f"_a0:{arity}", real=True))
        exact_params = []
        for p in params:
            if isinstance(p, (int, float)) and not math.isfinite(p):
                raise NoOracle(f"{rule.name} has a non-finite constant parameter {p!r}")
            exact_params.append(exact_number(p))
        f = op_definition(rule.name, rule)(SYMPY_NS, *symbols, *exact_params)
        f = sympy.sympify(f)
        first = [sympy.diff(f, s) for s in symbols]
        second = [sympy.diff(first[i], symbols[j]) for i in range(arity) for j in range(arity)]
        self.arity = arity
        self.order1 = Program([f, *first], symbols)
        self.order2 = Program([f, *first, *second], symbols)


_LOCALS: dict[tuple, _Local] = {}


def _local(rule, arity: int, params: tuple) -> _Local:
    key = (rule.name, id(rule), arity, tuple(float(p).hex() if isinstance(p, float) else p for p in params))
    local = _LOCALS.get(key)
    if local is None:
        local = _LOCALS[key] = _Local(rule, arity, params)
    return local


class Graph:
    """A case's engine graph at one point, ready for exact evaluation."""

    def __init__(self, case, point: Sequence[float]) -> None:
        self.point = tuple(float(x) for x in point)
        inputs = [Value(x) for x in self.point]
        try:
            out = case.fn(VALUE_MATH, *inputs)
        except Exception as err:  # the case's function is a user's code (check_gradients(f, ...)): any raise
            raise NoOracle(f"the engine cannot trace this case: {type(err).__name__}: {err}") from None
        if not isinstance(out, Value):
            out = Value(float(out))  # a constant function
        self.nodes = topological(out)
        index = {id(v): k for k, v in enumerate(inputs)}
        self.position = {id(n): i for i, n in enumerate(self.nodes)}
        self.input_of: dict[int, int] = {}  # node position -> input index
        self.leaf: list[float | None] = []  # per node: its exact float if a leaf, None for an op node
        self.children: list[tuple[int, ...]] = []
        self.locals: list[_Local | None] = []
        self.edges: list[tuple[str, ...]] = []
        for k, node in enumerate(self.nodes):
            rule = node.rule
            if rule is None:
                if id(node) in index:
                    self.input_of[k] = index[id(node)]
                self.leaf.append(node.data)
                self.children.append(())
                self.locals.append(None)
                self.edges.append(())
                continue
            kids = node.children
            self.leaf.append(None)
            self.children.append(tuple(self.position[id(c)] for c in kids))
            self.locals.append(_local(rule, len(kids), tuple(node.args)))
            floats = [c.data for c in kids] + list(node.args)
            self.edges.append(tuple(e.key for e in rule.edges_at(*floats)))
        self.n = len(inputs)

    def edge_keys(self) -> set[str]:
        """Every declared edge some node of this graph sits on."""
        return {k for keys in self.edges for k in keys}

    def run(self, order: int = 1, overrides: Mapping[str, tuple] | None = None,
            second: Mapping[str, object] | None = None) -> list:
        """[value, *grad, *hessian row by row] as balls (m, e) at the current mpmath precision.

        At a node on a declared edge, ``overrides[key]`` replaces its local first partials and ``second[key]``
        its second ones (rows of the local Hessian, or a function of the node's float inputs and params that
        gives them); ``None`` in either keeps that entry as derived.
        """
        overrides = overrides or {}
        second = second or {}
        size = len(self.nodes)
        vals: list = [None] * size
        partials: list = [None] * size
        seconds: list = [None] * size
        for k in range(size):
            leaf = self.leaf[k]
            if leaf is not None:
                vals[k] = exact_ball(leaf)
                continue
            local = self.locals[k]
            out = (local.order2 if order >= 2 else local.order1).run([vals[c] for c in self.children[k]])
            a = local.arity
            vals[k] = out[0]
            p, q = list(out[1:1 + a]), list(out[1 + a:])
            for key in self.edges[k]:
                if key not in overrides and key not in second:
                    continue
                if key in overrides:
                    p = [exact_ball(g) if g is not None else old for g, old in zip(overrides[key], p)]
                if key in second:
                    rows = second[key]
                    if callable(rows):
                        node = self.nodes[k]
                        rows = rows(*[c.data for c in node.children], *node.args)
                    flat = [v for row in rows for v in row]
                    q = [exact_ball(v) if v is not None else old for v, old in zip(flat, q)]
                break
            partials[k] = p
            if order >= 2:
                seconds[k] = q
        result = [vals[-1], *self._reverse(partials)]
        if order >= 2:
            result += self._hessian(partials, seconds)
        return result

    def _reverse(self, partials) -> list:
        size = len(self.nodes)
        adj: list = [None] * size
        adj[-1] = _ONE
        for k in range(size - 1, -1, -1):
            g = adj[k]
            if self.leaf[k] is not None or g is None:
                continue
            for c, p in zip(self.children[k], partials[k]):
                contribution = ball_mul([g, p])
                adj[c] = contribution if adj[c] is None else ball_add([adj[c], contribution])
        grads = [_ZERO] * self.n
        for k, i in self.input_of.items():
            if adj[k] is not None:
                grads[i] = adj[k]
        return grads

    def _hessian(self, partials, seconds) -> list:
        size, n = len(self.nodes), self.n
        tan: list[dict] = [None] * size
        for k in range(size):
            i = self.input_of.get(k)
            if i is not None:
                tan[k] = {i: _ONE}
            elif self.leaf[k] is not None:
                tan[k] = {}
            else:
                t: dict = {}
                for c, p in zip(self.children[k], partials[k]):
                    for j, v in tan[c].items():
                        w = ball_mul([p, v])
                        t[j] = ball_add([t[j], w]) if j in t else w
                tan[k] = t
        adj: list = [None] * size
        adjt: list = [None] * size
        adj[-1], adjt[-1] = _ONE, {}
        for k in range(size - 1, -1, -1):
            g = adj[k]
            if self.leaf[k] is not None or g is None:
                continue
            gt = adjt[k]
            kids = self.children[k]
            a = len(kids)
            q = seconds[k]
            for i, (c, p) in enumerate(zip(kids, partials[k])):
                contribution = ball_mul([g, p])
                adj[c] = contribution if adj[c] is None else ball_add([adj[c], contribution])
                t = adjt[c]
                if t is None:
                    t = adjt[c] = {}
                for j, v in gt.items():
                    w = ball_mul([v, p])
                    t[j] = ball_add([t[j], w]) if j in t else w
                for m, cm in enumerate(kids):  # g * d(p_i)/d(input m) along the tangent of input m
                    gq = ball_mul([g, q[i * a + m]])
                    for j, v in tan[cm].items():
                        w = ball_mul([gq, v])
                        t[j] = ball_add([t[j], w]) if j in t else w
        rows = [[_ZERO] * n for _ in range(n)]
        for k, i in self.input_of.items():
            if adjt[k] is not None:
                for j, v in adjt[k].items():
                    rows[i][j] = v
        return [v for row in rows for v in row]


def trace(case, point: Sequence[float]) -> Graph:
    """The case's engine graph at ``point`` (NoOracle if the engine cannot run it)."""
    graph = Graph(case, point)
    return graph
