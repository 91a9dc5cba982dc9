"""The words a learner reads, the same in the terminal, the Markdown report, test failures and notebooks.

A finding (``reference.subject.explain`` has already put it in plain words and found its place in
the subject's source) is shown as its kind and op, ``file:line (function)``, the sentence, its
evidence in words and, in the report, its picture. The counts of the run's other findings come
from one function, so the terminal and the report never disagree.
"""
from __future__ import annotations

import re

from reference.corpus.conventions import CONVENTIONS, EDGES
from reference.subject import ops as _ops
from reference.subject.explain import evidence_words, num, off_by, place

__all__ = ["counts", "counts_line", "finding_lines", "headline", "is_problem", "num", "off_by", "place", "prose",
           "record_error"]

PROBLEMS = ("api", "crash", "timeout", "raises", "forward", "rule", "graph")  # what "What is wrong" lists


def is_problem(finding: dict) -> bool:
    """A finding that is something to fix (not a note such as float32 precision or a convention)."""
    return finding.get("kind") in PROBLEMS


def prose(text) -> str:
    """Text for people: one line, no Python reprs (braces and tuple commas read as plain lists)."""
    text = " ".join(str(text).split())
    text = re.sub(r"\((-?[\d.e+-]+),\)", r"(\1)", text)  # (1.5,) -> (1.5)
    return text.replace("{", "(").replace("}", ")")


def headline(finding: dict) -> str:
    """``rule relu at my_engine.py:42 (relu's _backward)``."""
    op = f" {finding['op']}" if finding.get("op") else ""
    where = place(finding.get("where"))
    return f"{finding.get('kind', '?')}{op}" + (f" at {where}" if where else "")


def finding_lines(finding: dict, markdown: bool = True, evidence: int = 3, shared: bool = False) -> list[str]:
    """A finding as lines: the headline and sentence, then up to ``evidence`` lines of evidence in words,
    then (Markdown) its picture or why there is none. ``shared``: a pattern line above says the fault is likely
    shared by the ops, so a rule finding's own 'Fix:' (a guess for that op alone) is left out."""
    items = [evidence_words(e) for e in (finding.get("evidence") or [])][:evidence]
    items = [prose(i) for i in items if i]
    summary = prose(finding.get("summary", ""))
    if shared and finding.get("kind") == "rule":
        summary = summary.split(" Fix: ", 1)[0]
    where = place(finding.get("where"))
    if where:  # the headline names the place already
        summary = summary.replace(f" Change it in {where}.", "")
    if finding.get("op") and summary.startswith(f"{finding['op']}: "):
        summary = summary[len(finding["op"]) + 2:]
    if not markdown:
        return [f"{headline(finding)}: {summary}", *[f"    e.g. {i}" for i in items]]
    op = f" `{finding['op']}`" if finding.get("op") else ""
    out = [f"- **{finding.get('kind', '?')}**{op}" + (f" in `{where}`" if where else "") + f": {summary}"]
    out += [f"  - {i}" for i in items]
    picture = finding.get("picture")
    if picture:
        out.append(f"  - The engine's own graph of {picture['case']} after backward: each node's .grad beside its "
                   f"true adjoint, the first wrong node in red:")
        out.append(f"    ![{picture['case']}]({picture['file']})")
        if picture.get("first_wrong") and finding.get("kind") == "graph":
            out.append(f"  - {prose(picture['first_wrong'])}")
    elif finding.get("picture_note"):
        out.append(f"  - {finding['picture_note']}")
    return out


def counts(summary: dict) -> dict:
    """The run's counts of things that are not failures, the one source for the terminal and the report."""
    return {"raises": len(summary.get("subject_raises") or []),
            "reference": len(summary.get("reference_findings") or []),
            "known": len(summary.get("known") or []),
            "conventions": len(summary.get("conventions") or [])}


def counts_line(summary: dict) -> str:
    c = counts(summary)
    return (f"{c['raises']} raise(s) at domain edges (float semantics, not a derivative bug); {c['reference']} about "
            f"the reference methods; {c['known']} known limitation(s) of the methods; {c['conventions']} "
            "convention(s) met at kinks and edges")


def _float(x):
    if isinstance(x, str):
        return float(x) if x in ("nan", "inf", "-inf") else None
    return float(x) if isinstance(x, (int, float)) else None


def record_error(r: dict) -> str:
    """A failing record's error as people read it: the worst component, yours against the true value
    ('x: 1 vs 0, off by 1 where the true value is 0'), never a bare relative error such as 1e+300."""
    pairs = [("value", r.get("value"), r.get("oracle_value"))]
    pairs += [(k, v, (r.get("oracle_grad") or {}).get(k)) for k, v in (r.get("grad") or {}).items()]
    errors, tols = r.get("errors") or {}, r.get("tolerances") or {}
    worst, key = None, None
    for name, got, true in pairs:
        g, t = _float(got), _float(true)
        if g is None or t is None:
            continue
        e = _float(errors.get(name))
        tol = _float(tols.get(name)) or 0.0
        if e is None:
            e = abs(g - t) if g == g and t == t else float("inf")
        score = (e > tol, e / tol if tol else e)
        if g != t and (key is None or score > key):
            worst, key = (name, g, t), score
    if r.get("status") not in (None, "ok"):
        return {"error": "raised", "crash": "crashed", "timeout": "timed out"}.get(r.get("kind") or "error", "raised")
    if worst is None:
        return ""
    name, g, t = worst
    size = off_by(g, t)
    label = "value" if name == "value" else f"d/d{name}"
    return f"{label}: {num(g)} vs {num(t)}" + (f", {size}" if size else "")


def _kink(r: dict):
    """(edge key, Edge, slopes per input) of a primitive record met at one kink; None otherwise."""
    chosen = r.get("chosen") or {}
    if "primitive" not in (r.get("tags") or []) or len(chosen) != 1:
        return None
    key = next(iter(chosen))
    found = EDGES.get(key)
    if found is None or found[1].kind != "kink":
        return None
    try:
        slopes = found[1].slopes()
    except TypeError:  # slopes that depend on a constant parameter the record does not carry
        return None
    return (key, found[1], slopes) if slopes else None


def valid_set(r: dict) -> str:
    """At a kink, the oracle column's valid set ('[0, 1]'; per input for two inputs); '' elsewhere."""
    kink = _kink(r)
    if kink is None:
        return ""
    return ", ".join(f"[{num(lo)}, {num(hi)}]" for lo, hi in kink[2])


def subject_convention(r: dict) -> str:
    """What the subject does at a kink, in its own words: "your relu'(x) at x = 0 is 1: a valid subgradient
    (any value in [0, 1]); torch uses 0"; '' when the record is not at one kink."""
    kink = _kink(r)
    if kink is None:
        return ""
    key, edge, slopes = kink
    op = key.split("@")[0]
    yours = ", ".join(num(v) for v in (r.get("grad") or {}).values())
    conv = CONVENTIONS.get(key)
    torch = conv.expected.get("torch") if conv is not None else None
    also = f"; torch uses {', '.join(num(v) for v in torch)}" if torch else ""
    interval = ", ".join(f"[{num(lo)}, {num(hi)}]" for lo, hi in slopes)
    return f"your {op}'(x) at {edge.where} is {yours}: a valid subgradient (any value in {interval}){also}"


def simplest(failures: list[dict]) -> list[dict]:
    """The subject's failing records, simplest first (primitive cases, then fewest variables)."""
    mine = [r for r in failures if r.get("subject")]
    return sorted(mine, key=lambda r: ("primitive" not in (r.get("tags") or []), len(r.get("point") or {}), r["case"]))


def unexplained(failures: list[dict], diagnosis: list[dict], most: int = 3) -> list[str]:
    """When the corpus fails the subject but the op probes found nothing: the smallest failing cases, in words
    (primitive cases first, then by the number of variables), so the learner has somewhere to start."""
    if not failures or any(is_problem(d) for d in diagnosis):
        return []
    mine = simplest(failures)
    out = [f"The op probes found no fault, but {len(mine)} corpus record(s) fail; the simplest:"]
    for r in mine[:most]:
        at = ", ".join(f"{k} = {num(v)}" for k, v in (r.get("point") or {}).items())
        what = r.get("note") or r.get("message") or ""
        error = record_error(r) if r.get("status") == "ok" else ""
        where = place(r.get("where"))
        out.append(f"{r['case']} at {at}: " + "; ".join(t for t in (error, what) if t)
                   + (f", in {where}" if where else ""))
    return out


def patterns(diagnosis: list[dict]) -> list[str]:
    """One line when many ops go wrong the same way, which points past the ops to what they share."""
    rules = [d for d in diagnosis if d.get("kind") == "rule" and d.get("op")]
    ops = {d["op"] for d in rules}
    if len(ops) < 2:
        return []
    diffs, ratios = [], []
    for d in rules:
        for e in d.get("evidence") or []:
            got, true = (e.get("got"), e.get("expected")) if isinstance(e, dict) else (None, None)
            if isinstance(got, (int, float)) and isinstance(true, (int, float)):
                diffs.append(got - true)
                ratios.append(got / true if true else None)
    if len(ops) >= 3 and diffs and all(abs(x - 1) < 1e-9 for x in diffs):
        return [f"Every one of these {len(ops)} ops gives its input a gradient exactly 1 too high, whatever its "
                "rule: the fault is likely shared, not in each op. Does each node's .grad start at 0 (not 1) "
                "in __init__, with only the output set to 1 by backward()?"]
    if ratios and all(r is not None and abs(r - 2) < 1e-9 for r in ratios):
        return [f"Every one of these {len(ops)} ops ({', '.join(sorted(ops))}) gives exactly 2 times the true "
                "gradient: the fault is likely shared, not in each op. Does backward() run a node's _backward more "
                "than once (a node listed twice in the topological order, e.g. topo.append inside the loop over "
                "children)?"]
    return []


def terminal_lines(diagnosis: list[dict], most: int = 6, report: str = "conformance.md") -> list[str]:
    """The findings for a terminal: patterns first, each problem as its headline and one line of evidence (a
    second partial of the same op and place as one 'also' line), at most ``most`` of them, then the notes."""
    out = list(patterns(diagnosis))
    shared = bool(out)
    problems = [d for d in diagnosis if is_problem(d)]
    shown, last = 0, None
    for d in problems:
        key = (d.get("kind"), d.get("op"), place(d.get("where")))
        if key == last and d.get("evidence"):
            out.append(f"    also {prose(evidence_words(d['evidence'][0]))}")
            continue
        if shown == most:
            break
        out += finding_lines(d, markdown=False, evidence=1, shared=shared)
        shown, last = shown + 1, key
    rest = len({(d.get("kind"), d.get("op"), place(d.get("where"))) for d in problems}) - shown
    if rest > 0:
        out.append(f"... and {rest} more finding(s): see {report}")
    out += [f"note: {prose(d['summary'])}" for d in diagnosis if not is_problem(d)]
    return out


def kink_valid_sets(expression: str, point: dict) -> dict[str, str]:
    """For an expression that is one op on its variables (``relu(x)``, ``maximum(x, y)``), sitting on a kink of
    that op: the valid set of each variable's partial there ({"x": "[0, 1]"}); {} otherwise."""
    m = re.fullmatch(r"\s*(\w+)\(\s*(\w+)\s*(?:,\s*(\w+)\s*)?\)\s*", expression)
    if not m:
        return {}
    info = _ops.by_name(m.group(1))
    names = [n for n in m.groups()[1:] if n]
    if info is None or info.operator or info.params or len(names) != info.arity or len(set(names)) != len(names) \
            or any(n not in point for n in names):
        return {}
    values = tuple(float(point[n]) for n in names)
    for edge in info.edges:
        try:
            on = edge.kind == "kink" and edge.test(*values)
            slopes = edge.slopes() if on else None
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if slopes:
            return {n: f"[{num(lo)}, {num(hi)}]" for n, (lo, hi) in zip(names, slopes)}
    return {}


def subject_kink_note(note: str) -> str:
    """The judge's "relu' = 1 at the kink (valid: [0, 1])" for the subject, in its own words: "your relu' at
    the kink is 1: a valid subgradient (any value in [0, 1]); torch uses 0"; other notes unchanged."""
    m = re.fullmatch(r"(\w+)' = (\S+) at the kink \(valid: (\[[^\]]*\])\)", note or "")
    if not m:
        return note
    op = m.group(1)
    torch = next((c.expected.get("torch") for c in CONVENTIONS.values() if c.op == op and c.edge.kind == "kink"),
                 None)
    also = f"; torch uses {', '.join(num(v) for v in torch)}" if torch else ""
    return f"your {op}' at the kink is {num(float(m.group(2)))}: a valid subgradient (any value in {m.group(3)}){also}"
