"""Localising a failing corpus case that the probes did not explain: on the case itself.

The case is traced once on plain floats (the registry's forward), which gives it as a probe
program: its variables as leaves, each op it applies as a node (constants kept as constants).
The engine runs that program (its own graph, every node read after backward) and each node's
value and ``.grad`` are compared with the registry's exact forward and the true adjoint
(``sim.simulate``, the chain rule on the registry's partials, in float64). The first node whose
value is off names the op of a ``forward`` finding (at the inputs where it shows); else the
node walking back from the output whose gradient is first wrong names the op whose backward
step feeds it, which is then run alone at the case's own values to tell a wrong rule from a
wrong context. What runs nowhere on its own (a raise) is bisected the same way, op by op.
"""
from __future__ import annotations

import math

from reference.subject import ops as _ops
from reference.subject import sim, slips
from reference.subject.tasks import SubjectMath, SubjectValue
from reference.subject.worker import Failure


class _Node:
    __slots__ = ("index", "value")

    def __init__(self, index: int, value: float):
        self.index, self.value = index, value


class _Tracer:
    """An adapter-shaped recorder: ``SubjectValue`` and ``SubjectMath`` drive it like an engine."""

    trace = None

    def __init__(self, leaves):
        self.plan: dict = {}
        self.leaves = [float(x) for x in leaves]
        self.nodes: list[tuple] = []
        self.values: list[float] = list(self.leaves)

    def is_node(self, x) -> bool:
        return isinstance(x, _Node)

    def leaf(self, x: float) -> _Node:
        raise _Untraceable("a constant lifted to a node")

    def apply(self, info, form, inputs, params=()):
        refs = tuple(x.index if isinstance(x, _Node) else ("c", float(x)) for x in inputs)
        values = tuple(x.value if isinstance(x, _Node) else float(x) for x in inputs)
        value = info.forward(values, tuple(params))
        self.nodes.append((info.name, form, refs, tuple(float(p) for p in params)))
        self.values.append(value)
        return _Node(len(self.values) - 1, value)


class _Untraceable(Exception):
    """The case cannot be written as a probe program (a constant made a node, a branch on values)."""


def trace(case, point) -> dict | None:
    """The case at this point as a probe program, or None if it cannot be traced."""
    tracer = _Tracer(point)
    xs = [SubjectValue(_Node(i, float(x)), tracer) for i, x in enumerate(point)]
    try:
        out = case.fn(SubjectMath(tracer), *xs)
    except (_Untraceable, ArithmeticError, ValueError, TypeError):
        return None
    if not isinstance(out, SubjectValue) or not tracer.nodes or out.node.index != len(tracer.values) - 1:
        return None
    return {"leaves": tracer.leaves, "nodes": tracer.nodes}


def _same(got, expected, rtol) -> bool:
    if got is None or expected is None:
        return False
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= rtol * abs(expected) + 1e-300


def _step_text(program, k) -> str:
    n = len(program["leaves"])
    return sim.text({"leaves": program["leaves"], "nodes": program["nodes"][:k - n + 1]})


def _alone(program, k) -> dict:
    """Node k's op alone, on leaves holding the values its inputs have in the case."""
    values = sim.forward(program)
    op, form, refs, params = program["nodes"][k - len(program["leaves"])]
    leaves, new_refs = [], []
    for r in refs:
        if isinstance(r, int):
            new_refs.append(len(leaves))
            leaves.append(values[r])
        else:
            new_refs.append(r)
    return {"leaves": leaves, "nodes": [(op, form, tuple(new_refs), params)]}


def _args(program) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in sim.leaf_point(program).items())


def localise(case, point, call, rtol: float = 1e-7) -> dict | None:
    """One finding naming the op (or the walk) that makes this case fail on the engine; None if it
    cannot be traced or nothing differs (the failure was the judge's, not the engine's)."""
    program = trace(case, point)
    if program is None:
        return None
    names = list(sim.leaf_point(program))
    where = {"case": case.name, "at": dict(zip(case.variables, point))}
    n = len(program["leaves"])
    expected_values = sim.forward(program)
    got = call("run_program", program)
    if isinstance(got, Failure):
        if got.kind in ("timeout", "crash"):
            return None
        for k in range(n, len(expected_values)):  # bisect: which op raises on its own, at the case's values
            alone = _alone(program, k)
            res = call("run_program", alone)
            if isinstance(res, Failure) and res.kind == "raises":
                op = program["nodes"][k - n][0]
                m = len(alone["leaves"])
                true = ", ".join(f"{g:.6g}" for g in sim.simulate(alone)[:m])
                return {"kind": "raises", "op": op,
                        "summary": f"{sim.text(alone)} raises {res.message} at {_args(alone)}, where its value is "
                                   f"{expected_values[k]:.6g} and its partials {true} (in {case.name} at "
                                   f"{_point(where['at'])})",
                        "evidence": [{**where, "probe": sim.text(alone), "at": sim.leaf_point(alone)}]}
        return None
    for k in range(n, len(expected_values)):
        if not _same(got["values"][k], expected_values[k], rtol):
            op = program["nodes"][k - n][0]
            alone = _alone(program, k)
            info = _ops.ops()[op]
            shown = sim.text(alone)
            summary = f"{shown} gives {got['values'][k]:.6g}, not {expected_values[k]:.6g} at {_args(alone)}"
            how = slips.fit_clip(info, [(tuple(alone['leaves']), tuple(program['nodes'][k - n][3]),
                                         got["values"][k])]) if info.arity == 1 and not any(
                not isinstance(r, int) for r in program["nodes"][k - n][2]) else ""
            if how:
                summary += f": {how}"
            return {"kind": "forward", "op": op, "summary": summary + f" (in {case.name})",
                    "evidence": [{**where, "probe": shown, "got": got["values"][k], "expected": expected_values[k]}]}
    true = sim.simulate(program)
    wrong = [k for k in range(len(true)) if not _same(got["grads"][k], true[k], rtol)]
    if not wrong:
        return None
    k = max(wrong)  # walking back from the output: the first node whose .grad is off
    node = names[k] if k < n else _step_text(program, k)
    ev = {**where, "first wrong node": node, "its grad": got["grads"][k], "true adjoint": true[k]}
    if k == len(true) - 1:
        return {"kind": "graph", "op": None, "summary": f"the output's own gradient is {got['grads'][k]:g}, not 1, "
                                                         f"after backward (in {case.name}): backward does not seed "
                                                         "the output with 1", "evidence": [ev]}
    consumers = [j for j in range(n, len(true)) if k in program["nodes"][j - n][2]]
    for j in consumers:  # the op whose backward step feeds node k: wrong alone at these values?
        alone = _alone(program, j)
        res = call("run_program", alone)
        if isinstance(res, Failure):
            continue
        m = len(alone["leaves"])
        exp = sim.simulate(alone)[:m]
        if not all(_same(g, e, rtol) for g, e in zip(res["grads"][:m], exp)):
            op = program["nodes"][j - n][0]
            return {"kind": "rule", "op": op,
                    "summary": f"the partials of {sim.text(alone)} at {_args(alone)} are "
                               f"{', '.join(f'{g:.6g}' for g in res['grads'][:m])}, not "
                               f"{', '.join(f'{e:.6g}' for e in exp)} (found on {case.name})",
                    "evidence": [{**ev, "probe": sim.text(alone), "got": res["grads"][:m], "expected": exp}]}
    ops = sorted({program["nodes"][j - n][0] for j in consumers})
    if len(ops) == 1:
        return {"kind": "rule", "op": ops[0],
                "summary": f"{ops[0]} is right alone at the case's values but its backward step gives {node} the "
                           f"gradient {got['grads'][k]:.6g}, not {true[k]:.6g} (in {case.name} at "
                           f"{_point(where['at'])})", "evidence": [ev]}
    return {"kind": "graph", "op": None,
            "summary": f"every op of {case.name} is right alone at the case's values, but {node} gets the gradient "
                       f"{got['grads'][k]:.6g}, not {true[k]:.6g}: the graph walk (or an op in context)",
            "evidence": [ev]}


def _point(at: dict) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in at.items())
