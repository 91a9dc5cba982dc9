"""Probe programs and a simulator of reverse mode with the ways a learner's graph walk goes wrong.

A program is a small graph: ``leaves`` (numbers) and ``nodes``, each ``(op, form, refs,
params)`` where a ref is the index of an earlier entry or ``("c", number)`` for a constant.
The same program runs on the engine (``Tasks.run_program``) and here, where the registry's
rules give the true gradient and each hypothesis (a slip in one op's rule, a faulty walk)
gives what an engine with that fault would report.
"""
from __future__ import annotations

import math

from reference.core.formatting import fmt
from reference.subject import ops as _ops

WALKS = {
    "correct": "",
    "not_reversed": "the graph walk is not reversed: backward runs each node's step in topological order "
                    "(inputs first), so a node passes on its gradient before it has received it",
    "no_visited": "the topological sort has no visited set: a node reached along two paths runs its backward "
                  "step twice",
    "merged": "nodes are merged by value (__eq__/__hash__ on the data): two distinct nodes with equal values "
              "count as one, so one of them never passes its gradient on",
    "overwrite_all": "gradients are overwritten (=) instead of accumulated (+=) when a node feeds several ops",
    "append_in_loop": "the topological sort appends a node once per child (`topo.append(v)` indented inside the "
                      "`for child` loop): a node with two distinct inputs runs its backward step twice, and leaves "
                      "are never listed",
    "grad_starts_at_one": "every node's gradient starts at 1 (`self.grad = 1.0` in the constructor) and backward "
                          "does not seed the output: each node collects one too much",
    "breadth_first": "the topological sort is breadth-first (a queue from the output), so a node can come before "
                     "a node that uses it: in c + f(c), c is reached straight from the output and takes its turn "
                     "before f(c) has passed its gradient back, which then never arrives",
    "stops_early": "the topological sort stops at a node's first parent that was already seen (`break` where it "
                   "should skip that parent and go on): the parents after it are never sorted, and nothing behind "
                   "them gets its gradient (in x + x*f(y), y gets none)",
}
ORDER_WALKS = ("breadth_first", "stops_early")  # the sort lists nodes once, in an order of its own


def text(program: dict) -> str:
    """The program as an expression over leaves a, b, c, ... (the last node is the output)."""
    names = [chr(ord("a") + i) for i in range(len(program["leaves"]))]
    table = _ops.ops()
    shown: list[str] = list(names)
    for op, _form, refs, params in program["nodes"]:
        info = table[op]
        args = [shown[r] if isinstance(r, int) else repr(r[1]) for r in refs]
        if info.operator == "neg":
            s = f"-{args[0]}"
        elif info.operator:
            s = f"({args[0]} {info.operator} {args[1] if len(args) > 1 else _num(params[0])})"
        else:
            args = [a[1:-1] if a.startswith("(") else a for a in args]  # an operator's node is wrapped whole
            s = f"{info.method or op}({', '.join(args + [_num(p) for p in params])})"
        shown.append(s)
    out = shown[-1]
    return out[1:-1] if out.startswith("(") and out.endswith(")") else out


def _num(x) -> str:
    return fmt(x)


def leaf_point(program: dict) -> dict:
    return {chr(ord("a") + i): x for i, x in enumerate(program["leaves"])}


def _inputs(values, refs):
    return [values[r] if isinstance(r, int) else r[1] for r in refs]


def forward(program: dict) -> list[float]:
    table = _ops.ops()
    values = list(program["leaves"])
    for op, _form, refs, params in program["nodes"]:
        values.append(table[op].forward(_inputs(values, refs), tuple(params)))
    return values


def simulate(program: dict, walk: str = "correct", slip: tuple | None = None,
             reverse_children: bool | frozenset = False, leaf_at_turn: bool = False) -> list[float]:
    """Every entry's gradient as an engine with this walk (and this slip in one op) reports it.

    ``reverse_children``: True visits every node's inputs last first; a set of entries, only theirs (an
    engine keeping a node's children in a set visits them in an order of its own, node by node).
    ``leaf_at_turn``: a leaf reports what it held when its turn in the order came (an engine that
    collects gradients in a table and hands a leaf its share when the walk reaches it, as MiniTorch's
    ``backpropagate``; a leaf the sort never lists keeps 0), not all that reached it.

    ``slip`` is ``(op, kind, fn)``: kind "partial" (fn(i, z, inputs, params, true) replaces
    the local partial), "no_upstream", "overwrite" or "closure_on_input".
    """
    table = _ops.ops()
    values = forward(program)
    n_leaves = len(program["leaves"])
    nodes = program["nodes"]
    kids = [[] for _ in range(n_leaves)] + [[r for r in refs if isinstance(r, int)] for _, _, refs, _ in nodes]
    root = len(values) - 1
    steps: dict[int, int] = {}  # entry -> the node whose step it runs
    for k in range(n_leaves, len(values)):
        op = nodes[k - n_leaves][0]
        if slip and slip[0] == op and slip[1] == "closure_on_input":
            first = kids[k][0] if kids[k] else None
            if first is not None:
                steps[first] = k
            steps.setdefault(k, -1)
        else:
            steps.setdefault(k, k)
    topo: list[int] = []
    visited: set = set()

    def key(v):
        return values[v] if walk == "merged" else v

    def build(v):
        if walk != "no_visited":
            if key(v) in visited:
                return
            visited.add(key(v))
        children = list(dict.fromkeys(kids[v], None)) if walk in ("merged", "append_in_loop") else kids[v]
        for c in (children[::-1] if reverse_children else children):
            build(c)
            if walk == "append_in_loop":
                topo.append(v)
        if walk != "append_in_loop":
            topo.append(v)

    def ordered(v):
        flip = v in reverse_children if isinstance(reverse_children, frozenset) else reverse_children
        return kids[v][::-1] if flip else kids[v]

    def build_stopping(v):
        visited.add(v)
        for c in ordered(v):
            if c in visited:
                break
            build_stopping(c)
        topo.append(v)

    if walk == "breadth_first":
        topo = [root]
        visited.add(root)
        for v in topo:  # grows while walked: a queue
            for c in ordered(v):
                if c not in visited:
                    visited.add(c)
                    topo.append(c)
        topo.reverse()
    elif walk == "stops_early":
        build_stopping(root)
    else:
        build(root)
    grads = [1.0 if walk == "grad_starts_at_one" else 0.0] * len(values)
    grads[root] = 1.0
    order = topo if walk == "not_reversed" else list(reversed(topo))
    at_turn: dict[int, float] = {}
    for v in order:
        if v < n_leaves:
            at_turn[v] = grads[v]
        k = steps.get(v, -1)
        if k < 0:
            continue
        op, form, refs, params = nodes[k - n_leaves]
        info = table[op]
        inputs = _inputs(values, refs)
        z = values[k]
        for i, r in enumerate(refs):
            if not isinstance(r, int):
                continue
            slot = i if not (info.params and form == "V op c") else 0
            true = info.rule.partial(slot, _ops.FLOAT, z, *inputs, *params)
            local = true
            upstream = grads[k]
            mine = slip is not None and slip[0] == op
            if mine and slip[1] == "partial":
                local = slip[2](slot, z, tuple(inputs), tuple(params), true)
            contribution = local if (mine and slip[1] == "no_upstream") else upstream * local
            if walk == "overwrite_all" or (mine and slip[1] == "overwrite" and (slip[2] is None or slip[2] == i)):
                grads[r] = contribution
            else:
                grads[r] += contribution
    if leaf_at_turn:
        grads[:n_leaves] = [at_turn.get(v, 0.0) for v in range(n_leaves)]
    return grads


def close(got, expected, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    if got is None or expected is None:
        return got is expected
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= atol + rtol * abs(expected)


def central_difference(program: dict, leaf: int, h: float = 1e-5) -> float:
    """d(output)/d(leaf) by a Richardson-extrapolated central difference of the registry's forward."""
    def f(x):
        p = dict(program, leaves=[x if i == leaf else v for i, v in enumerate(program["leaves"])])
        return forward(p)[-1]
    x = program["leaves"][leaf]
    s = max(1.0, abs(x))
    d1 = (f(x + h * s) - f(x - h * s)) / (2 * h * s)
    d2 = (f(x + 2 * h * s) - f(x - 2 * h * s)) / (4 * h * s)
    return (4 * d1 - d2) / 3
