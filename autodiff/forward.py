"""Forward mode from the same rules: a tangent carried through the graph, input to output."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from .engine import VALUE_MATH, Value
from .graph import topological
from .rules import FLOAT

__all__ = ["jvp"]


def jvp(f: Callable, primals: Sequence[float], tangents: Sequence[float]) -> tuple[float, float]:
    """(f(primals), the directional derivative of f along tangents), like ``jax.jvp`` for a scalar output.

    ``f`` takes Values (or a math namespace ``m`` first, as corpus cases do). The forward sweep
    visits each node after its inputs and adds each input's tangent times the row's local partial.
    """
    if len(primals) != len(tangents):
        raise ValueError(f"{len(primals)} primals but {len(tangents)} tangents")
    inputs = [Value(float(x)) for x in primals]
    out = _call(f, inputs)
    if not isinstance(out, Value):
        return float(out), 0.0
    # An input given a zero tangent, and everything computed from such inputs alone, carries a
    # structural zero (absent here, as JAX's symbolic zeros): it adds nothing, even times an
    # infinite or nan partial. A tangent that is computed and comes out 0 is a real zero.
    tangent = {id(v): float(t) for v, t in zip(inputs, tangents) if t != 0}
    for node in topological(out):
        rule = node.rule
        if rule is None:
            continue
        children = node.children
        args = [c.data for c in children] + list(node.args)
        total = None
        for i, child in enumerate(children):
            t = tangent.get(id(child))
            if t is not None:
                term = rule.partial(i, FLOAT, node.data, *args) * t
                total = term if total is None else total + term
        if total is not None:
            tangent[id(node)] = total
    return out.data, tangent.get(id(out), 0.0)


def _call(f: Callable, inputs: list[Value]):
    import inspect
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        names = []
    if names and names[0] == "m" and len(names) == len(inputs) + 1:
        return f(VALUE_MATH, *inputs)
    return f(*inputs)
