"""Targeted probes before the corpus, and the diagnosis they support.

Per op: alone on leaves (every form, several ordinary points), with an upstream gradient, on a
non-leaf input, reused, one leaf feeding two ops of its kind, two distinct nodes with equal
values. Then graphs: chains in both orders, a diamond, equal-valued interior nodes, reuse.
Each engine answer is compared with the registry's rules (confirmed by central differences),
and the faults the simulator can plant (a slip in one rule, a faulty walk) are fitted to the
answers, so the finding names the rule, or the walk, and what it does instead.
"""
from __future__ import annotations

import math
import struct

from reference.subject import ops as _ops
from reference.subject import sim, slips
from reference.subject.worker import Failure

FAILING_KINDS = ("rule", "graph", "forward", "raises", "crash", "timeout", "api")
W = 1.7  # the upstream factor and the scale of non-leaf inputs


def finding(kind, op, summary, evidence=()) -> dict:
    return {"kind": kind, "op": op, "summary": summary, "evidence": list(evidence)}


def _program(leaves, nodes) -> dict:
    return {"leaves": [float(x) for x in leaves], "nodes": [tuple(n) for n in nodes]}


def _node(info, refs, params=()):
    if info.operator == "neg":
        return (info.name, "-V", tuple(refs), ())
    if info.params:
        return (info.name, "V op c", tuple(refs), tuple(params))
    return (info.name, "V op V" if info.operator else "call", tuple(refs), ())


class Prober:
    """Runs programs on the engine and keeps every answer."""

    def __init__(self, call):
        self.call = call
        self.ran = 0
        self.total = 0

    def run(self, program):
        self.total += 1
        got = self.call("run_program", program)
        if not isinstance(got, Failure):
            self.ran += 1
        return got


def _evidence(program, got, expected, which=None) -> dict:
    names = list(sim.leaf_point(program))
    item = {"probe": sim.text(program), "at": sim.leaf_point(program)}
    if which is None:
        item["got"] = {n: got[i] for i, n in enumerate(names)}
        item["expected"] = {n: expected[i] for i, n in enumerate(names)}
    else:
        item.update(which)
    return item


def _leaf_grads(answer, program):
    n = len(program["leaves"])
    return answer["grads"][:n]


RTOL = {"value": 1e-6}


def _matches(answer, program, walk="correct", slip=None) -> bool:
    """Whether the engine's leaf gradients are what this walk and slip give (in either order of children,
    since an engine keeping children in a set visits them in an order of its own)."""
    got = _leaf_grads(answer, program)
    orders: list = [False, True] if (walk, slip) != ("correct", None) else [False]
    if walk in sim.ORDER_WALKS:  # the order of each node's children matters here: every choice, node by node
        n = len(program["leaves"])
        forks = [n + k for k, node in enumerate(program["nodes"])
                 if len({r for r in node[2] if isinstance(r, int)}) > 1][:5]
        orders = [frozenset(f for b, f in enumerate(forks) if mask >> b & 1) for mask in range(1 << len(forks))]
    for reverse in orders:
        for at_turn in (False, True) if walk in sim.ORDER_WALKS else (False,):
            expected = sim.simulate(program, walk, slip, reverse, at_turn)[:len(got)]
            atol = RTOL["value"] * 1e-2 * max([1.0, *(abs(e) for e in expected if math.isfinite(e))])
            if all(sim.close(g, e, RTOL["value"], atol) for g, e in zip(got, expected)):
                return True
    return False


def op_programs(info, point, helper) -> dict[str, dict]:
    """The structural probes of one op at one point (helper: a binary op known right alone)."""
    k, c = info.arity, info.probe_params
    base = list(range(k))
    out = {"alone": _program(point, [_node(info, base, c)])}
    if helper is not None:
        out["upstream"] = _program(list(point) + [W], [_node(info, base, c), _node(helper, (k + 1, k), ())])
        scaled = [x / W for x in point]
        nodes = [_node(helper, (i, k), ()) for i in range(k)] + [_node(info, [k + 1 + i for i in range(k)], c)]
        out["non-leaf input"] = _program(scaled + [W], nodes)
        if k == 2 and not info.on_edge((point[0], point[0])):
            out["reuse"] = _program([point[0]], [_node(info, (0, 0), c)])
        if k == 2:
            other = point[1] * 1.1
            if not info.on_edge((point[0], other)):
                out["fan-out"] = _program(list(point) + [other], [_node(info, (0, 1), c), _node(info, (0, 2), c),
                                                                  _node(helper, (3, 4), ())])
            out["leaf reused by another op"] = _program(list(point), [_node(info, (0, 1), c),
                                                                       _node(helper, (2, 0), ())])
        else:
            out["fan-out"] = _program([point[0], W], [_node(info, (0,), c), _node(helper, (0, 1), ()),
                                                      _node(helper, (2, 3), ())])
            out["leaf reused by another op"] = _program([point[0]], [_node(info, (0,), c), _node(helper, (1, 0), ())])
        out["equal values"] = _program(list(point) * 2, [_node(info, base, c), _node(info, [k + i for i in base], c),
                                                         _node(helper, (2 * k, 2 * k + 1), ())])
    return out


def graph_programs(right: list, helper, joiner, indirect=()) -> dict[str, dict]:
    """Graph probes built from ops known right alone (``indirect``: ops the engine builds from several nodes,
    left out of the shapes that probe the order of the walk)."""
    out = {}
    unary = [i for i in right if i.arity == 1 and not i.params and i.operator != "neg"]
    if helper is None:
        return out
    j = joiner or helper
    out["chain (a*b)*c"] = _program([0.6, 1.3, 0.9], [_node(helper, (0, 1)), _node(helper, (3, 2))])
    out["chain a*(b*c)"] = _program([0.6, 1.3, 0.9], [_node(helper, (1, 2)), _node(helper, (0, 3))])
    for u1, u2 in ((unary[0], unary[1]), (unary[1], unary[0])) if len(unary) >= 2 else ():
        p = _program([0.6], [_node(u2, (0,)), _node(u1, (1,))])
        if all(math.isfinite(v) for v in sim.forward(p)) and not u1.on_edge((sim.forward(p)[1],)):
            out[f"chain {u1.name} of {u2.name}"] = p
    out["diamond"] = _program([0.6, 1.3, 0.9], [_node(helper, (0, 1)), _node(helper, (3, 2)), _node(j, (4, 3))])
    out["equal-valued nodes"] = _program([0.6, 1.3, 0.6, 1.3], [_node(helper, (0, 1)), _node(helper, (2, 3)),
                                                              _node(j, (4, 5))])
    out["reuse a+a"] = _program([0.6], [_node(j, (0, 0))])
    out["reuse a*a"] = _program([0.6], [_node(helper, (0, 0))])
    binary = [i for i in right if i.arity == 2 and not i.params and i.name not in indirect]
    out.update(order_programs([i for i in unary if i.name not in indirect], binary, helper, j))
    return out


def order_programs(unary, binary, helper, joiner) -> dict[str, dict]:
    """Shapes where a node is used both straight by the output and through another op, with the direct use
    first and last: ``c + f(c)``, ``f(c) + c`` (c a leaf, and c = a*b a node), ``x + x*y``, ``x*y + x`` and
    ``x + x*f(y)``, ``x*f(y) + x``.
    A sort that is right on one order of parents and wrong on the other (breadth-first, one that stops at
    the first parent already seen) shows on one of each pair."""
    out = {}
    for f in unary[:3]:
        for leafy in (True, False):
            if leafy:
                leaves, c, first = [0.6], 0, []
            else:
                leaves, c, first = [0.6, 1.3], 2, [_node(helper, (0, 1))]
            n = len(leaves) + len(first)
            for label, refs in ((f"c + {f.name}(c)", (c, n)), (f"{f.name}(c) + c", (n, c))):
                p = _program(leaves, first + [_node(f, (c,)), _node(joiner, refs)])
                if all(math.isfinite(v) for v in sim.forward(p)) and not f.on_edge((sim.forward(p)[c],)):
                    out[f"{label}{'' if leafy else ', c = a*b'}"] = p
    for g in binary[:3]:
        for label, refs in ((f"x + x {g.name} y", (0, 2)), (f"x {g.name} y + x", (2, 0))):
            p = _program([0.6, 1.3], [_node(g, (0, 1)), _node(joiner, refs)])
            if all(math.isfinite(v) for v in sim.forward(p)) and not g.on_edge((0.6, 1.3)):
                out[label] = p
    for f in unary[:3]:  # the later parent a node, not a leaf: a step that never runs, whoever keeps the gradient
        for label, refs in ((f"x + x * {f.name}(y)", (0, 3)), (f"x * {f.name}(y) + x", (3, 0))):
            p = _program([0.6, 1.3], [_node(f, (1,)), _node(helper, (0, 2)), _node(joiner, refs)])
            if all(math.isfinite(v) for v in sim.forward(p)) and not f.on_edge((1.3,)):
                out[label] = p
    return out


def _size(program) -> int:
    return len(program["nodes"]) * 10 + len(program["leaves"])


def _first_wrong_node(program, answer) -> dict | None:
    """Walking back from the output: the first node whose own .grad differs from its true adjoint."""
    true = sim.simulate(program)
    for k in range(len(true) - 1, -1, -1):
        if not sim.close(answer["grads"][k], true[k], 1e-6, 1e-12):
            names = list(sim.leaf_point(program))
            n = len(names)
            node = names[k] if k < n else sim.text({"leaves": program["leaves"], "nodes": program["nodes"][:k - n + 1]})
            return {"first wrong node": node, "its grad": answer["grads"][k], "true adjoint": true[k]}
    return None


def diagnose(call, probe_results: dict, precision: str = "float64", built_from: dict | None = None
             ) -> tuple[list[dict], dict]:
    """Findings from the probes (each op's forms already probed), and counts of probes run.

    ``built_from`` (filled in when given): op -> the other registry ops the engine builds it from."""
    table = _ops.ops()
    prober = Prober(call)
    findings: list[dict] = []
    right: list = []
    structural: dict[str, dict[str, tuple]] = {}
    rtol = 1e-6 if precision == "float64" else 1e-4
    RTOL["value"] = rtol
    composite: dict[str, list] = {}  # ops the engine builds from several nodes, wrong alone: maybe the walk
    variants = [(name, forms, info) for name, forms in probe_results.items() for info in table[name].variants()]
    built_from = {} if built_from is None else built_from  # op -> registry ops the engine builds it from
    form_findings: list[dict] = []  # findings about one form (c op V ...): never an inner op's to explain
    checked_forms: set = set()
    alone_answers: list = []  # (label, program, answer) of every op alone: a faulty walk shows there too
    indirect: set = set()  # ops right alone that the engine builds from several nodes (sub as a + -b)
    for name, forms, info in variants:
        if any(f["op"] == name for f in findings) or name in composite:
            continue  # one finding per op: its first wrong parameter is enough to name it
        primary = forms.get(info.primary_form) or forms.get("call") or {}
        if isinstance(primary, Failure) or primary.get("status") != "ok":
            if name not in checked_forms and not isinstance(primary, Failure):
                checked_forms.add(name)  # the defining form lacks or raises: the other forms on their own
                before = len(findings)
                covered = _ops.by_operator(info.operator, with_params=True) if info.operator else None
                skip = ("V op c",) if covered is not None and covered.name != name and covered.params else ()
                _check_forms(info, forms, findings, rtol, skip)  # V ** c is powc's own form, probed there
                form_findings += findings[before:]
            continue
        points = info.points(4)
        bad_value, bad_grad = [], [[] for _ in range(info.arity)]
        ok = True
        answers = []
        for p in points:
            prog = op_programs(info, p, None)["alone"]
            got = prober.run(prog)
            if isinstance(got, Failure):
                if got.kind in ("timeout", "crash"):
                    findings.append(finding(got.kind, name, f"{name} at {sim.text(prog)}: {got.message}",
                                            [{"probe": sim.text(prog), "at": sim.leaf_point(prog)}]))
                elif got.kind == "raises":
                    findings.append(finding("raises", name, f"{name} raises {got.message} at an ordinary point "
                                            f"({_at(prog)})", [{"probe": sim.text(prog), "at": sim.leaf_point(prog)}]))
                ok = False
                break
            answers.append((p, prog, got))
            for label in got.get("built") or ():
                inner = _ops.by_label(label)
                if inner is not None and inner.name != name:
                    built_from.setdefault(name, set()).add(inner.name)
        if not ok:
            continue
        alone_answers += [(f"{name} alone", prog, got) for _, prog, got in answers]
        before = len(findings)
        for p, prog, got in answers:
            value = info.forward(p)
            if not sim.close(got["values"][-1], value, rtol, 1e-12):
                bad_value.append((p, info.probe_params, got["values"][-1]))
            for i in range(info.arity):
                true = info.partial(i, p)
                fd = sim.central_difference(prog, i)
                expected = true if sim.close(true, fd, 1e-5, 1e-7) else fd
                if not sim.close(got["grads"][i], expected, rtol, 1e-12):
                    bad_grad[i].append((p, info.probe_params, got["grads"][i], expected))
        if bad_value:
            how = slips.fit_forward(info, bad_value)
            ev = [{"probe": f"{info.name} at {p}", "got": g, "expected": info.forward(p)} for p, _, g in bad_value]
            findings.append(finding("forward", name, f"{name}'s value is wrong" + (f": {how}" if how else ""), ev))
        for i, bad in enumerate(bad_grad):
            if not bad:
                continue
            slot = "xy"[i] if info.arity == 2 else "x"
            fitted = slips.fit(info, i, [(p, c, g) for p, c, g, _ in bad]) if len(bad) == len(answers) else None
            where = ("at every probe point" if len(bad) == len(answers)
                     else f"at {len(bad)} of {len(answers)} probe points")
            if fitted is None and len(bad) == len(answers):
                shown = slips.fit_polynomial(info, i, [(p, c, g) for p, c, g, _ in bad])
                fitted = ("formula", shown) if shown else None
            what = f": {fitted[1]}" if fitted else ""
            ev = [{"probe": f"d/d{slot} {info.name}{tuple(p)}", "got": g, "expected": e} for p, _, g, e in bad]
            findings.append(finding("rule", name, f"d/d{slot} is wrong {where}{what}", ev))
        if not bad_value and name not in checked_forms:
            extreme = _extreme_forward(info, prober, precision, rtol)
            if extreme:
                findings.append(extreme)
                continue
        if bad_value or any(bad_grad):
            if any(a[2].get("direct") is False for a in answers):
                composite[name] = findings[before:]
                del findings[before:]
            continue
        if name not in checked_forms:
            checked_forms.add(name)
            before = len(findings)
            _check_forms(info, forms, findings, rtol)
            form_findings += findings[before:]
        if any(a[2].get("direct") is False for a in answers):
            indirect.add(name)
        right.append(info)
    walk = _walk_alone(alone_answers)
    if walk is not None:  # every op alone is what one faulty walk gives: the walk, not the rules
        kept = [f for f in findings if f["kind"] != "rule" and (f["kind"] != "forward" or f in form_findings)]
        return kept + [walk], {"ran": prober.ran, "total": prober.total}
    helper = _pick_helper(right)
    joiner = next((i for i in right if i.arity == 2 and i.operator and i is not helper), None)
    for info in right:
        structural[info.name] = {}
        for label, prog in op_programs(info, info.probe, helper).items():
            if label == "alone" or any(not math.isfinite(v) for v in sim.forward(prog)):
                continue
            got = prober.run(prog)
            if not isinstance(got, Failure):
                structural[info.name][label] = (prog, got)
    graphs = {}
    for label, prog in graph_programs(right, helper, joiner, indirect).items():
        got = prober.run(prog)
        if not isinstance(got, Failure):
            graphs[label] = (prog, got)
    structure = _fit_structure(structural, graphs, table, indirect)
    walk_bug = any(f["kind"] == "graph" for f in structure)
    wrong_rules = {f["op"] for f in findings if f["kind"] in ("rule", "forward")}
    for name, held in composite.items():
        if wrong_rules:
            # built from several nodes, and some op it may be built from is wrong alone: that one is to blame
            for f in findings:
                if f["op"] in wrong_rules:
                    f["evidence"].append({"also": f"{name} is built from several nodes in this engine and fails "
                                                  f"alone too, which a wrong {f['op']} explains",
                                          "first": held[0]["summary"] if held else ""})
                    break
        elif walk_bug:
            for f in structure:
                if f["kind"] == "graph":
                    f["evidence"].append({"also": f"{name} is built from several nodes in this engine and fails alone "
                                                  "through the same walk", "first": held[0]["summary"] if held else ""})
        else:
            findings += held
    findings += structure
    findings = _blame_inner(findings, built_from, form_findings)
    return findings, {"ran": prober.ran, "total": prober.total}


def _walk_alone(answers) -> dict | None:
    """A graph finding when several ops fail alone and one faulty walk reproduces every alone answer."""
    answers = [a for a in answers if a[2].get("direct") is not False]  # composites: the engine's graph differs
    failing = [(label, prog, got) for label, prog, got in answers if not _matches(got, prog)]
    if len({label for label, _, _ in failing}) < 2:
        return None
    for walk in ("append_in_loop", "grad_starts_at_one", "not_reversed", "no_visited", "overwrite_all"):
        if all(_matches(got, prog, walk) for _, prog, got in answers):
            return _graph_finding(walk, failing, alone=True)
    return None


def _blame_inner(findings, built_from, keep) -> list[dict]:
    """An op built from another op in this engine (sub as add and neg) is not blamed for what the inner
    op's own finding explains: that finding gets a note instead."""
    wrong = {}
    for f in findings:
        if f["op"] and f["kind"] in ("rule", "forward", "api"):
            wrong.setdefault(f["op"], f)
    out = []
    for f in findings:
        inner = [o for o in sorted(built_from.get(f["op"] or "", ())) if o in wrong and o != f["op"]]
        if inner and f["kind"] in ("rule", "forward", "raises") and not any(f is k for k in keep):
            host = wrong[inner[0]]
            host["evidence"].append({"note": f"{f['op']} is built from {' and '.join(inner)} here; its failure "
                                             f"({f['summary']}) is {inner[0]}'s"})
            continue
        out.append(f)
    return out


def _extreme_forward(info, prober, precision, rtol) -> dict | None:
    """The op's value at the registry's own points, extremes and edges included (exp(709.7), log(1e-300)):
    a value that is off there is a ``forward`` finding, with what it looks like (a clip) where that shows."""
    bad = []
    for inputs, params in info.extreme_points():
        try:
            expected = info.forward(inputs, params)
        except (ValueError, OverflowError, ZeroDivisionError):
            continue
        if precision == "float32" and any(_outside_float32(v) for v in (*inputs, expected)):
            continue
        prog = _program(inputs, [_node(info, list(range(info.arity)), params)])
        got = prober.run(prog)
        if isinstance(got, Failure):
            continue  # a raise at an edge is float semantics, judged by the corpus
        value = got["values"][-1]
        if not _same_value(value, expected, rtol):
            bad.append((inputs, params, value, expected))
    if not bad:
        return None
    inputs, params, value, expected = bad[0]
    shown = f"{info.name}({', '.join(f'{x:g}' for x in (*inputs, *params))})"
    how = slips.fit_clip(info, [(i, c, v) for i, c, v, _ in bad])
    summary = f"{shown} gives {value:.5g}, not {expected:.5g}" + (f": {how}" if how else "")
    if len(bad) > 1:
        summary += f" (wrong at {len(bad)} of the registry's points for {info.name}; right at ordinary points)"
    ev = [{"probe": f"{info.name}{tuple(i)}", "got": v, "expected": e} for i, c, v, e in bad]
    return finding("forward", info.name, summary, ev)


def _outside_float32(v: float) -> bool:
    """Outside float32's normal range, or not a float32 number at all (1.0000000000000002)."""
    if not math.isfinite(v):
        return False
    if abs(v) > 3.4028234663852886e38 or 0 < abs(v) < 1.1754943508222875e-38:
        return True
    return struct.unpack("f", struct.pack("f", v))[0] != v


def _same_value(got, expected, rtol) -> bool:
    if math.isnan(expected) or math.isnan(got):
        return math.isnan(expected) and math.isnan(got)
    if math.isinf(expected) or math.isinf(got):
        return got == expected
    return abs(got - expected) <= rtol * abs(expected) + 1e-300


def _at(prog) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in sim.leaf_point(prog).items())


def _pick_helper(right):
    """A binary op right alone whose partial in its first input is not 1 (it scales the upstream gradient)."""
    for info in right:
        if info.arity == 2 and info.operator and not info.params:
            if abs(info.partial(0, (0.6, W)) - 1.0) > 0.1 and abs(info.partial(1, (W, 0.6))) > 0.1:
                return info
    return next((i for i in right if i.arity == 2 and not i.params), None)


def _check_forms(info, forms, findings, rtol, skip=()):
    """The other forms (V op c, c op V): their value and the V slot's partial."""
    for form, res in forms.items():
        if form in skip or form == info.primary_form or isinstance(res, Failure) or \
                res.get("status") not in ("ok", "lifted"):
            continue
        p = info.probe
        value, slot = info.forward(p), (1 if form == "c op V" else 0)
        grads = res.get("grads") or []
        g = grads[slot] if len(grads) > slot else None
        expected = info.partial(slot, p)
        spelled = {"c op V": f"{p[0]:g} {info.operator} V({p[1]:g})", "V op c": f"V({p[0]:g}) {info.operator} {p[1]:g}"}
        text = spelled.get(form, f"{info.name}(V, c)")
        via = " (through " + _ops.DUNDERS[info.operator][1 if form == "c op V" else 0] + ")" if info.operator else ""
        if not sim.close(res["value"], value, rtol, 1e-12):
            how = slips.fit_forward(info, [(p, (), res["value"])])
            findings.append(finding("forward", info.name, f"{text}{via} gives {res['value']:g}, not {value:g}"
                                    + (f": {how}" if how else ""),
                                    [{"probe": text, "got": res["value"], "expected": value}]))
        elif g is not None and not sim.close(g, expected, rtol, 1e-12):
            findings.append(finding("rule", info.name, f"{text}{via}: the partial of the V operand is {g:g}, "
                                    f"not {expected:g}", [{"probe": text, "got": g, "expected": expected}]))


def _fit_structure(structural, graphs, table, indirect=()) -> list[dict]:
    """Which fault explains the failing compositions: one faulty walk, or one op's rule in context.

    A walk that lists nodes in an order of its own (sim.ORDER_WALKS) is fitted to the programs of ops the
    engine makes as one node: on an op built from several (sub as a + -b) the engine's graph is not the
    program's, and the simulated order would be another graph's."""
    everything = [(label, prog, got) for per in structural.values() for label, (prog, got) in per.items()]
    everything += [(label, prog, got) for label, (prog, got) in graphs.items()]
    failing = [(label, prog, got) for label, prog, got in everything if not _matches(got, prog)]
    if not failing:
        return []
    out = []
    for walk in ("not_reversed", "no_visited", "merged", "overwrite_all", "append_in_loop", "grad_starts_at_one"):
        if all(_matches(got, prog, walk) for _, prog, got in everything):
            out.append(_graph_finding(walk, failing))
            return out
    plain = [(label, prog, got) for label, prog, got in everything
             if not any(n[0] in indirect for n in prog["nodes"])]
    plain_failing = [(label, prog, got) for label, prog, got in plain if not _matches(got, prog)]
    for walk in sim.ORDER_WALKS:
        if plain_failing and all(_matches(got, prog, walk) for _, prog, got in plain):
            out.append(_graph_finding(walk, plain_failing))
            return out
    for op in structural:
        for kind, arg, words in _HYPOTHESES:
            if all(_matches(got, prog, "correct", (op, kind, arg)) for _, prog, got in everything):
                bad = [(label, prog, got) for label, prog, got in failing if _uses(prog, op)]
                label, prog, got = min(bad or failing, key=lambda b: _size(b[1]))
                ev = _evidence(prog, _leaf_grads(got, prog), sim.simulate(prog)[:len(prog["leaves"])])
                node = _first_wrong_node(prog, got)
                if node:
                    ev.update(node)
                return [finding("rule", op, f"{op} is right alone but {words}; smallest failing graph: "
                                            f"{sim.text(prog)}", [ev])]
    blamed = set()
    for op, per in structural.items():
        bad = [(label, prog, got) for label, (prog, got) in per.items() if not _matches(got, prog)]
        if not bad:
            continue
        fitted = None
        for kind, arg, words in _HYPOTHESES:
            slip = (op, kind, arg)
            if all(_matches(got, prog, "correct", slip) for _, prog, got in everything if _uses(prog, op)) and \
                    all(_matches(got, prog) for _, prog, got in everything if not _uses(prog, op)):
                fitted = words
                break
        smallest = min(bad, key=lambda b: _size(b[1]))
        label, prog, got = smallest
        ev = _evidence(prog, _leaf_grads(got, prog), sim.simulate(prog)[:len(prog["leaves"])])
        node = _first_wrong_node(prog, got)
        if node:
            ev.update(node)
        if fitted:
            summary = f"{op} is right alone but {fitted}; smallest failing graph: {sim.text(prog)}"
        else:
            summary = f"{op} is right alone but wrong in context ({label}); smallest failing graph: {sim.text(prog)}"
        out.append(finding("rule", op, summary, [ev]))
        blamed.add(op)
    if not out:
        label, prog, got = min(failing, key=lambda b: _size(b[1]))
        ev = _evidence(prog, _leaf_grads(got, prog), sim.simulate(prog)[:len(prog["leaves"])])
        node = _first_wrong_node(prog, got)
        if node:
            ev.update(node)
        out.append(finding("graph", None, f"every op is right alone but compositions fail; smallest failing graph: "
                                          f"{sim.text(prog)}", [ev]))
    return out


_HYPOTHESES = [("no_upstream", None, "forgets to multiply by the upstream gradient (out.grad)"),
               ("overwrite", 0, "overwrites its first input's gradient (= instead of +=)"),
               ("overwrite", 1, "overwrites its second input's gradient (= instead of +=)"),
               ("overwrite", None, "overwrites its inputs' gradients (= instead of +=)"),
               ("closure_on_input", None, "attaches its backward closure to its input instead of its output "
                                          "(self._backward = ... instead of out._backward = ...)")]


def _uses(prog, op) -> bool:
    return any(n[0] == op for n in prog["nodes"])


def _graph_finding(walk, failing, alone: bool = False) -> dict:
    _label, prog, got = min(failing, key=lambda b: _size(b[1]))
    ev = _evidence(prog, _leaf_grads(got, prog), sim.simulate(prog)[:len(prog["leaves"])])
    node = _first_wrong_node(prog, got)
    if node:
        ev.update(node)
    lead = "" if alone else "every op is right alone, but "
    return finding("graph", None, f"{lead}{sim.WALKS[walk]}; smallest failing graph: {sim.text(prog)}", [ev])
