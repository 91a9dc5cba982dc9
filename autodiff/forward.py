"""Forward mode from the same rules: a tangent carried through the graph, input to output."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from .engine import VALUE_MATH, Value
from .graph import topological
from .rules import FLOAT

__all__ = ["TangentSweep", "jvp"]


class TangentSweep:
    """The forward sweep over a traced graph (one or many outputs): each node's tangent is the sum of
    its inputs' tangents times the row's local partials, visited input to output. The partials are
    read once; each direction is then one pass of arithmetic.

    An input given a zero tangent, and everything computed from such inputs alone, carries a
    structural zero (absent, as JAX's symbolic zeros): it adds nothing, even times an infinite or
    nan partial. A tangent that is computed and comes out 0 is a real zero.
    """

    def __init__(self, outputs: Sequence[Value], inputs: Sequence[Value]) -> None:
        self.outputs, self.inputs = list(outputs), list(inputs)
        self.steps = []  # (node id, [(input id, local partial)]), inputs before the nodes that use them
        seen: set[int] = set()
        for out in self.outputs:
            for node in topological(out):
                if id(node) in seen or node.rule is None:
                    continue
                seen.add(id(node))
                children, rule = node.children, node.rule
                args = [c.data for c in children] + list(node.args)
                self.steps.append((id(node), [(id(c), rule.partial(i, FLOAT, node.data, *args))
                                              for i, c in enumerate(children)]))

    def __call__(self, direction: Sequence[float]) -> list[float]:
        """The tangent of each output along ``direction`` (one float per input)."""
        tangent = {id(v): float(t) for v, t in zip(self.inputs, direction) if t != 0}
        get = tangent.get
        for node, parts in self.steps:
            total = None
            for child, p in parts:
                t = get(child)
                if t is not None:
                    total = p * t if total is None else total + p * t
            if total is not None:
                tangent[node] = total
        return [get(id(o), 0.0) if isinstance(o, Value) else 0.0 for o in self.outputs]


def jvp(f: Callable, primals: Sequence[float], tangents: Sequence[float]) -> tuple[float, float]:
    """(f(primals), the directional derivative of f along tangents), like ``jax.jvp`` for a scalar output.

    ``f`` takes Values (or a math namespace ``m`` first, as corpus cases do).
    """
    if len(primals) != len(tangents):
        raise ValueError(f"{len(primals)} primals but {len(tangents)} tangents")
    inputs = [Value(float(x)) for x in primals]
    out = _call(f, inputs)
    if not isinstance(out, Value):
        return float(out), 0.0
    (slope,) = TangentSweep([out], inputs)(tangents)
    return out.data, slope


def _call(f: Callable, inputs: list[Value]):
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        names = []
    if names and names[0] == "m" and len(names) == len(inputs) + 1:
        return f(VALUE_MATH, *inputs)
    return f(*inputs)
