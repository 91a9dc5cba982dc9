"""What the subject package reads from the rule registry (``autodiff.rules.RULES``).

Every op-specific fact used for probing and diagnosis comes from the registry row: its
spelling (operator, method, names), arity and constant parameters, forward, partials, probe
point, sampling ranges and edges. Nothing here lists ops by name, so a new registry row is
probed and diagnosed with no other edit.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from autodiff.rules import FLOAT, OPERATOR_METHODS, RULES

DUNDERS = OPERATOR_METHODS  # Python's own spelling of each operator symbol: (method, reflected method)


@dataclass(frozen=True)
class OpInfo:
    """The facts about one registry row that probing needs."""

    name: str
    arity: int
    params: tuple
    operator: str | None
    method: str | None
    names: tuple
    probe: tuple
    probe_params: tuple
    sample: tuple
    edges: tuple
    rule: object
    spelling_symbol: str = ""

    def variants(self, most: int = 8) -> list[OpInfo]:
        """This op at each of its constant parameters the registry's points use (probe's first): a
        power rule can be right for x**2.5 and wrong for x**-1."""
        if not self.params:
            return [self]
        seen = [self.probe_params]
        for point in self.rule.sampling.points:
            params = tuple(float(v) for v in point[self.arity:])
            if params and params not in seen:
                seen.append(params)
        return [replace(self, probe_params=p) for p in seen[:most]]

    @property
    def primary_form(self) -> str:
        """The form that defines the op: V op V, V op c (a constant parameter), -V, or a call."""
        if self.operator == "neg":
            return "-V"
        if self.operator:
            return "V op c" if self.params else "V op V"
        return "call"

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form the op is probed in."""
        if self.operator and self.operator != "neg" and not self.params and self.arity == 2:
            return ("V op V", "V op c", "c op V")
        if self.arity == 2 and not self.operator:
            return ("call", "call V c")
        return (self.primary_form,)

    def forward(self, inputs, params=None) -> float:
        params = self.probe_params if params is None else params
        return float(self.rule.forward(FLOAT, *inputs, *params))

    def partial(self, i, inputs, params=None) -> float:
        params = self.probe_params if params is None else params
        z = self.forward(inputs, params)
        return float(self.rule.partial(i, FLOAT, z, *inputs, *params))

    def extreme_points(self) -> list[tuple[tuple, tuple]]:
        """(inputs, params) of the registry's own points for this op, edges and extremes included."""
        out = []
        for point in self.rule.sampling.points:
            inputs = tuple(float(v) for v in point[:self.arity])
            params = tuple(float(v) for v in point[self.arity:]) or self.probe_params
            if len(inputs) == self.arity and len(params) == len(self.params):
                out.append((inputs, params))
        return out

    def on_edge(self, inputs, params=None) -> bool:
        params = self.probe_params if params is None else params
        for edge in self.edges:
            try:
                if edge.test(*inputs, *params):
                    return True
            except (ArithmeticError, ValueError):  # the edge's test itself fails there: count it as on the edge
                return True
        return False

    def points(self, n: int = 5, seed: int = 0) -> list[tuple]:
        """The probe point and ``n - 1`` ordinary points spread over the sampling ranges (never on an edge)."""
        rng = random.Random(f"{self.name}:{seed}")
        out = [tuple(float(x) for x in self.probe)]
        tries = 0
        strata = n - 1
        while len(out) < n and tries < 200:
            tries += 1
            k = (len(out) - 1 + tries // 20) % strata
            p = tuple(round(lo + (hi - lo) * ((k + j) % strata + rng.uniform(0.1, 0.9)) / strata, 3)
                      for j, (lo, hi) in enumerate(self.sample))
            ok = all(math.isfinite(v) for v in (self.forward(p), *(self.partial(i, p) for i in range(self.arity))))
            near = any(self.on_edge(tuple(x + d for x in p)) for d in (-1e-3, 0.0, 1e-3))
            if ok and not near and all(abs(x) > 0.05 for x in p) and p not in out:
                out.append(p)
        return out


def _info(rule) -> OpInfo:
    names = tuple(rule.spelling.names) or (rule.name,)
    return OpInfo(rule.name, rule.arity, tuple(rule.params), rule.spelling.operator, rule.spelling.method, names,
                  tuple(rule.sampling.probe), tuple(rule.sampling.probe_params), tuple(rule.sampling.sample),
                  tuple(rule.edges), rule, rule.spelling.symbol or "")


def ops() -> dict[str, OpInfo]:
    """Registry order, as ``RULES`` gives it."""
    return {name: _info(rule) for name, rule in RULES.items()}


def by_operator(symbol: str, with_params: bool) -> OpInfo | None:
    """The op spelled by a Python operator (``**`` with a number exponent is the one with a parameter)."""
    for info in ops().values():
        if info.operator == symbol and bool(info.params) == with_params:
            return info
    for info in ops().values():
        if info.operator == symbol:
            return info
    return None


def by_name(name: str) -> OpInfo | None:
    """The op called ``name`` in expressions (method names and aliases such as ln)."""
    for info in ops().values():
        if name == info.method or name in info.names or name == info.name:
            return info
    return None


def by_label(label: str) -> OpInfo | None:
    """The registry op an engine's own node label names ('+', '*', '**2', 'tanh', 'ReLU'), if any."""
    text = str(label or "").strip()
    if not text:
        return None
    if text.startswith("**"):
        return by_operator("**", with_params=True)
    for info in ops().values():
        if info.operator and info.operator == text:
            return by_operator(text, with_params=False)
        if info.operator == "neg" and text in ("neg", "-x", "-v"):
            return info
    normal = text.replace("_", "").lower()
    for info in ops().values():
        spellings = {n.replace("_", "").lower() for n in (info.method, info.name, *info.names) if n}
        if normal in spellings or (info.spelling_symbol and text == info.spelling_symbol):
            return info
    return None
