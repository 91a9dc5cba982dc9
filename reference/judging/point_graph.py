"""This project's engine graph of a case at a point: where it sits (edges), float64's own error of the
value and of each partial, and the float chain rule with declared conventions at edge nodes.

The judge reads it at every order: at order 1 the errors of the value and the gradient; at order 2
the same analysis over the graph of each partial df/dx_i (``PointGraph.from_output``).
"""
from __future__ import annotations

import math
from functools import cached_property

from autodiff import Value
from autodiff.graph import topological
from autodiff.rules import FLOAT, RULES
from reference.corpus.cases import Case

__all__ = ["EPS", "FLOAT_FACTOR", "GRAPH_MATH", "PointGraph", "finite", "rule_of", "same_nonfinite"]

EPS = 2.0 ** -52
TINY = 2.0 ** -1074  # the chain rule's product rounded into the subnormals: an absolute error relative bounds miss
FLOAT_FACTOR = 8.0  # the allowance is this many times the first-order float64 error bound

_TRUE_RULES = dict(RULES)  # the registry as imported: planted rules (override) never widen a tolerance


def rule_of(node):
    """The registry's true rule of a node (a planted override never widens a tolerance)."""
    return _TRUE_RULES.get(node.op) or node.rule


class _GraphMath:
    """The math namespace that builds this project's engine graph of a case (any op of the registry)."""

    def __getattr__(self, name):
        def call(x, *rest):
            return getattr(x if isinstance(x, Value) else Value(x), name)(*rest)
        return call


GRAPH_MATH = _GraphMath()


def finite(x) -> bool:
    """A finite int or float (not nan, not inf, not None)."""
    return isinstance(x, (int, float)) and math.isfinite(x)


def same_nonfinite(b: float, o: float) -> bool:
    """The same infinity, or both nan."""
    return b == o or (math.isnan(b) and math.isnan(o))


class PointGraph:
    """This project's engine graph of a case at a point (true rules): float errors, edges, chain rule."""

    def __init__(self, case: Case, values: tuple[float, ...]) -> None:
        self.case, self.values = case, tuple(values)
        self.leaves = [Value(x) for x in values]
        try:
            out = case.fn(GRAPH_MATH, *self.leaves)
        except Exception:  # a case this engine cannot build has no graph: no widening, no edges
            out = None
        self._index(out)

    @classmethod
    def from_output(cls, case: Case, values: tuple[float, ...], leaves: list[Value], out) -> PointGraph:
        """The same analysis over a graph already built (e.g. a partial df/dx_i written as a graph)."""
        self = cls.__new__(cls)
        self.case, self.values, self.leaves = case, tuple(values), list(leaves)
        self._index(out)
        return self

    def _index(self, out) -> None:
        self.out = out if isinstance(out, Value) else None
        self.nodes = topological(self.out) if self.out is not None else []
        self.partials: dict[int, list[float]] = {}
        for n in self.nodes:
            rule = rule_of(n)
            if rule is None:
                continue
            args = (*[c.data for c in n.children], *n.args)
            ps = []
            for k in range(len(n.children)):
                try:
                    ps.append(float(rule.partial(k, FLOAT, n.data, *args)))
                except (ArithmeticError, ValueError, TypeError):  # no float partial here: unknown
                    ps.append(math.nan)
            self.partials[id(n)] = ps

    # -- where the point sits ----------------------------------------------------------------
    @cached_property
    def edges(self) -> list[tuple[str, object]]:
        """(convention key, registry Edge or None) of every op on an edge here, first seen first."""
        found: dict[str, object] = {}
        self.edge_params: dict[str, tuple] = {}
        for n in self.nodes:
            rule = rule_of(n)
            if rule is None:
                continue
            args = (*[c.data for c in n.children], *n.args)
            edge = rule.edge_at(*args) if hasattr(rule, "edge_at") else None
            if edge is not None:
                found.setdefault(edge.key, edge)
                self.edge_params.setdefault(edge.key, tuple(n.args))
        return list(found.items())

    @cached_property
    def nonfinite(self) -> bool:
        """Whether IEEE doubles give inf or nan somewhere in this graph (a value or a local partial)."""
        return any(not math.isfinite(n.data) for n in self.nodes) or any(
            not math.isfinite(p) for ps in self.partials.values() for p in ps)

    # -- float64's own error at this point ---------------------------------------------------
    @cached_property
    def float_errors(self) -> list[float]:
        """First-order bound of float64's error on the value and each partial (0 where it is not finite)."""
        return self.errors(rounded_inputs=False)

    @cached_property
    def rounded_input_errors(self) -> list[float]:
        """The same bound (in units of float64's epsilon) when the inputs themselves are rounded, as a
        float32 engine rounds them: scaled by the subject's unit roundoff, it is that engine's error."""
        return self.errors(rounded_inputs=True)

    def errors(self, rounded_inputs: bool) -> list[float]:
        n_vars = len(self.values)
        if self.out is None:
            return [0.0] * (n_vars + 1)
        fwd: dict[int, float] = {}
        for n in self.nodes:
            ps = self.partials.get(id(n))
            if ps is None:
                # leaves and constants are exact doubles, unless the subject rounds them
                fwd[id(n)] = EPS * abs(n.data) if rounded_inputs and math.isfinite(n.data) else 0.0
                continue
            fwd[id(n)] = sum(abs(p) * fwd[id(c)] for p, c in zip(ps, n.children)) + EPS * abs(n.data)
        adj = {id(self.out): 1.0}
        err = {id(self.out): 0.0}
        for n in reversed(self.nodes):
            ps = self.partials.get(id(n))
            if ps is None or id(n) not in adj:
                continue
            a, e = adj[id(n)], err[id(n)]
            rule = rule_of(n)
            for k, (p, c) in enumerate(zip(ps, n.children)):
                d = self._partial_sensitivity(rule, n, k, p, fwd)
                adj[id(c)] = adj.get(id(c), 0.0) + a * abs(p)
                err[id(c)] = err.get(id(c), 0.0) + e * abs(p) + a * d + 2 * EPS * a * abs(p) + TINY
        value_err = fwd[id(self.out)]
        out = [value_err] + [err.get(id(leaf), 0.0) for leaf in self.leaves]
        return [x if math.isfinite(x) else 0.0 for x in out]

    def _partial_sensitivity(self, rule, node, k, p, fwd) -> float:
        """How much the local partial moves when its inputs and output carry their float errors."""
        if rule is None or rule.partials[k].__class__ is float:
            return 0.0
        children = node.children
        base = [c.data for c in children]
        z = node.data
        moves = [(-1, fwd[id(node)])] + [(j, fwd[id(c)]) for j, c in enumerate(children)]
        total = EPS * abs(p)  # the partial's own rounding
        for j, delta in moves:
            if delta == 0 or not math.isfinite(delta):
                if not math.isfinite(delta):
                    return math.inf
                continue
            worst = 0.0
            for sign in (1.0, -1.0):
                zz, args = z, list(base)
                if j < 0:
                    zz = z + sign * delta
                else:
                    args[j] = base[j] + sign * delta
                try:
                    q = float(rule.partial(k, FLOAT, zz, *args, *node.args))
                except (ArithmeticError, ValueError, TypeError):  # moved off the partial's domain: unbounded
                    q = math.inf
                worst = max(worst, abs(q - p))
            total += worst
        return total

    # -- the chain rule with declared conventions at edges --------------------------------------
    def chain(self, overrides: dict[str, tuple]) -> list[float] | None:
        """[value, *partials] by the float chain rule over this graph, edge nodes' partials overridden.

        ``overrides`` maps a convention key to that node's per-input partials (floats).
        """
        if self.out is None:
            return None
        adj = {id(self.out): 1.0}
        for n in reversed(self.nodes):
            ps = self.partials.get(id(n))
            if ps is None or id(n) not in adj:
                continue
            rule = rule_of(n)
            if overrides:
                args = (*[c.data for c in n.children], *n.args)
                edge = rule.edge_at(*args) if hasattr(rule, "edge_at") else None
                if edge is not None and edge.key in overrides:
                    ps = list(overrides[edge.key])
            a = adj[id(n)]
            for p, c in zip(ps, n.children):
                adj[id(c)] = adj.get(id(c), 0.0) + a * p
        return [self.out.data] + [adj.get(id(leaf), 0.0) for leaf in self.leaves]
