"""A finding in plain words: the op as maths, where it is wrong, yours against the true value, the slip
and the change to make, and the line of the subject's file to make it in (issue 24).

``annotate(findings, locate)`` is the one call the session makes after the diagnosis: it adds
``where`` (``reference.subject.where``) to each rule, forward, raises and api finding and turns
its ``summary`` into a sentence a learner can act on, keeping the analysis it came from as
``detail``. The structured ``evidence`` stays as it is, for the JSON. Every entry point (the
report, the terminal, ``check``, the testing API and the pytest plugin) reads these sentences,
so they say the same thing.
"""
from __future__ import annotations

import math
import re

from reference.subject import ops as _ops
from reference.subject import slips
from reference.subject import where as _where
from reference.subject.notebook import describe_location

LOCATED = ("rule", "forward", "raises", "api")


# -- numbers a reader can take in ---------------------------------------------------------------------
def num(x) -> str:
    """A number as people read it: 6 significant digits, whole numbers without '.0', nan/inf spelled."""
    if x is None:
        return "?"
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def off_by(got, true) -> str:
    """How far ``got`` is from ``true``, in words: 'off by 1 where the true value is 0', '2 times the true
    value', 'the opposite sign', 'off by 0.05 (3.2%)'."""
    try:
        g, t = float(got), float(true)
    except (TypeError, ValueError):
        return ""
    if math.isnan(g) or math.isnan(t) or math.isinf(g) or math.isinf(t):
        return "" if (math.isnan(g) and math.isnan(t)) or g == t else f"{num(g)} where the true value is {num(t)}"
    d = abs(g - t)
    if t == 0:
        return f"off by {num(d)} where the true value is 0"
    if g != 0 and abs(g + t) <= 1e-9 * abs(t):
        return "the opposite sign"
    ratio = g / t
    for nice in (2.0, 3.0, 4.0, 10.0, 0.5, 0.25):
        if abs(ratio - nice) <= 1e-9 * nice:
            return f"{num(nice)} times the true value"
    rel = d / abs(t)
    if rel < 1e-3:
        return f"off by {num(d)} ({rel:.2g} relative)"
    return f"off by {num(d)} ({rel:.1%})" if rel < 1 else f"off by {num(d)}"


# -- where -------------------------------------------------------------------------------------------
def place(where: dict | None) -> str:
    """``my_engine.py:42 (relu's _backward)``; '' without a place."""
    if not where:
        return ""
    return describe_location(where.get("file") or "?", where.get("line"), where.get("function"))


def _form_of(finding: dict) -> str | None:
    """The form a finding is about, read from its probe ('1.5 - V(0.5)' is c op V); None: the op's own."""
    for ev in finding.get("evidence") or []:
        probe = ev.get("probe", "") if isinstance(ev, dict) else ""
        if re.match(r"^-?[\d.e+-]+ \S+ V\(", probe):
            return "c op V"
        if re.match(r"^V\([^)]*\) \S+ -?[\d.]", probe):
            return "V op c"
    return None


def annotate(findings: list[dict], locate, done: set | None = None) -> None:
    """Add ``where`` and the plain-words ``summary`` to each finding (``locate(op, form)`` asks the engine's
    worker; a Failure or None leaves ``where`` out). ``done`` holds the ids of findings already annotated."""
    done = set() if done is None else done
    for f in findings:
        if id(f) in done:
            continue
        if f["kind"] in LOCATED and "where" not in f:
            found = locate(f.get("op"), _form_of(f))
            if isinstance(found, dict):
                w = _where.pick(found, f["kind"])
                if w:
                    f["where"] = w
        elif f["kind"] == "graph" and "where" not in f:
            found = locate("<backward>", None)
            if isinstance(found, dict):  # a fault of the sort: the engine's sort function, if one is called
                w = _where.pick(found, "sort" if "topological sort" in f["summary"] else "graph")
                if w:
                    f["where"] = w
        text = sentence(f)
        if text and text != f["summary"]:
            f["detail"] = f["summary"]
            f["summary"] = text
        done.add(id(f))


# -- the op as maths ----------------------------------------------------------------------------------
def maths(info) -> str:
    """The op applied to x (and y, or its constant): 'x - y', 'x ** c', '-x', 'tanh(x)'."""
    if info.operator == "neg":
        return "-x"
    if info.operator:
        second = info.params[0] if info.params else "y"
        return f"x {info.operator} {second}"
    args = ["x", "y"][:info.arity] + list(info.params)
    return f"{info.method or info.name}({', '.join(args)})"


def _clean(formula: str) -> str:
    formula = re.sub(r"step\(([^,()]+), [\d.]+\)", r"step(\1)", formula)
    formula = re.sub(r"\b(\d+)\.0+\b(?!\d)", r"\1", formula)
    return formula.replace("**", "^").replace("^", "**")


def true_partial(info, i: int) -> str:
    """The registry's partial, written out: 'd/dx tanh(x) = 1 - tanh(x)**2'."""
    slot = "xy"[i] if info.arity == 2 else "x"
    op = maths(info)
    try:
        formula = _clean(slips._formula(info, i))
    except (TypeError, ValueError, AttributeError):
        return f"d/d{slot} ({op})"
    shown = f"({op})" if info.operator else op
    output = f", with z = {op} the op's output" if re.search(r"\bz\b", formula) else ""
    notes = [text for fn, text in (("step(", "step(u) is 1 for u > 0 and 0 for u < 0"),
                                   ("sign(", "sign(u) is 1 for u > 0 and -1 for u < 0")) if fn in formula]
    return f"d/d{slot} {shown} = {formula}{output}" + (f" ({'; '.join(notes)})" if notes else "")


# -- what to change ----------------------------------------------------------------------------------
FIXES = [  # (words in the analysis, the change to make)
    ("= instead of +=", "add with `+=`, not `=`: a node used twice must collect both contributions"),
    ("forgets to multiply by the upstream", "multiply the local partial by `out.grad` (the chain rule): "
                                            "`self.grad += local * out.grad`"),
    ("closure to its input", "assign the closure to the new node: `out._backward = _backward`, not "
                             "`self._backward = ...`"),
    ("the input, not the output", "use the op's output (`out.data`, or the t/s you computed) where the rule "
                                  "needs it, not the input x"),
    ("the output, not the input", "use the input x where the rule needs it, not the op's output"),
    ("the sign is flipped", "flip the sign of this partial"),
    ("precedence slip", "put the exponent in parentheses: `n * x**(n - 1)`, not `n * x**n - 1`"),
    ("partials of the two inputs are swapped", "give each input the partial with respect to itself (for x * y "
                                               "each uses the other's data: `self.grad += other.data * out.grad`, "
                                               "`other.grad += self.data * out.grad`)"),
    ("a factor", "put the missing (or extra) factor right: compare the line with the true partial above"),
    ("times the true partial", "the constant factor is off: compare the line with the true partial above"),
    ("no gradient reaches this input", "give this input its share: `other.grad += ... * out.grad`"),
    ("the output z instead of the local partial", "multiply by the local partial, not by the op's output"),
    ("operands are swapped", "a reflected operator gets (self, other) with the constant as `other`: "
                             "`__rsub__` must compute other - self (`return Value(other) - self`), "
                             "`__rtruediv__` other / self, `__rpow__` other ** self"),
    ("its sign is flipped", "the forward's sign is flipped: check the formula against the maths above"),
    ("flipped inside the formula", "check the sign of x inside the formula (e.g. exp(-x) where exp(x) is written)"),
    ("times the true value", "the forward computes a different function: check the formula (log is natural "
                             "log, math.log; not log10)"),
    ("is not reversed", "run the steps from the output back: `for node in reversed(topo): node._backward()`"),
    ("no visited set", "keep a visited set in build_topo so each node is listed, and run, once"),
    ("appends a node once per child", "append the node after the loop over its children (one indent less), "
                                      "so each node is listed once, leaves included"),
    ("gradient starts at 1", "start every node's grad at 0 in the constructor and set only the output's grad to 1 "
                             "at the start of backward()"),
    ("merged by value", "do not define __eq__/__hash__ by data: keep nodes apart by identity (a set of "
                        "nodes, or of id(node))"),
    ("overwritten (=) instead of accumulated", "add with `+=`, not `=`, in every _backward"),
    ("NameError: name 'math'", "add `import math` at the top of the file"),
    ("sort is breadth-first", "sort depth-first: visit every parent of a node first, then append the node, and run "
                              "the steps in the reverse of that order (each node after every node that uses it)"),
    ("stops at a node's first parent", "skip a parent that was already seen (`continue`, or return at the top of "
                                       "visit) and go on with the next parent; never `break` out of the loop"),
    ("NameError", "the name in the message is not defined there: a misspelling, or a missing import"),
    ("returns None", "end the method with `return out`"),
]


def fix_for(text: str) -> str:
    for words, fix in FIXES:
        if words in text:
            return fix
    return ""


# -- sentences ----------------------------------------------------------------------------------------
_PROBE = re.compile(r"^d/d([xy]) (\w+)\((.*)\)$")


def _point_of(probe: str):
    m = _PROBE.match(probe or "")
    if not m:
        return None
    try:
        point = tuple(float(v) for v in m.group(3).split(",") if v.strip())
    except ValueError:
        return None
    return m.group(1), m.group(2), point


def _at(names, point) -> str:
    return ", ".join(f"{n} = {num(v)}" for n, v in zip(names, point))


def _separation(info, bad_points) -> str:
    """'for x < 0' when the sign of an input separates the wrong points from the right ones, else ''."""
    tried = [tuple(p) for p in info.points(4)]
    bad = [tuple(p) for p in bad_points]
    good = [p for p in tried if not any(all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(p, q))
                                        for q in bad)]
    if not good:
        return "at every point tried"
    names = ["x", "y"][:info.arity]
    for k, n in enumerate(names):
        if all(p[k] < 0 for p in bad) and all(p[k] > 0 for p in good):
            return f"for {n} < 0 (right for {n} > 0)"
        if all(p[k] > 0 for p in bad) and all(p[k] < 0 for p in good):
            return f"for {n} > 0 (right for {n} < 0)"
    return (f"at {len(bad)} of {len(tried)} points tried: wrong at " + "; ".join(_at(names, p) for p in bad)
            + ", right at " + "; ".join(_at(names, p) for p in good))


def _analysis(finding) -> str:
    """The slip the diagnosis fitted, from its own summary (the part after the first ': ')."""
    text = finding.get("detail") or finding.get("summary") or ""
    return text.split(": ", 1)[1] if ": " in text else ""


def _in(where) -> str:
    return f" Change it in {place(where)}." if where else ""


def sentence(f: dict) -> str:
    kind, op = f["kind"], f.get("op")
    info = _ops.ops().get(op) if op else None
    where = f.get("where")
    evidence = [e for e in f.get("evidence") or [] if isinstance(e, dict)]
    original = f.get("detail") or f.get("summary") or ""
    if kind == "rule" and info is not None and evidence and _point_of(evidence[0].get("probe")):
        return _rule_alone(f, info, evidence, where)
    # a probe's evidence (gradients by input name); a localised case carries its own shape and its own words
    if (kind in ("rule", "graph") and evidence and isinstance(evidence[0].get("at"), dict)
            and isinstance(evidence[0].get("got", {}), dict)):
        return _in_context(f, info, evidence[0], where)
    if kind == "forward" and info is not None:
        return _forward(f, info, evidence, where)
    if kind in ("raises", "api"):
        fix = fix_for(original)
        return original.rstrip(".") + "." + _in(where) + (f" Fix: {fix}." if fix else "")
    return original


# What a learner's one-input partial often is instead, over the input x and the op's output z (a display aid:
# the diagnosis's own slips come first; these are only tried when none of them fitted).
_LOOKALIKES = (("(1 - z)**2", lambda x, z: (1 - z) ** 2), ("1 - z*2", lambda x, z: 1 - z * 2),
               ("1 + z**2", lambda x, z: 1 + z ** 2), ("z**2", lambda x, z: z ** 2), ("1 - z", lambda x, z: 1 - z),
               ("1 + z", lambda x, z: 1 + z), ("z*(1 + z)", lambda x, z: z * (1 + z)),
               ("z*(1 - z)", lambda x, z: z * (1 - z)), ("1 - z**2", lambda x, z: 1 - z ** 2),
               ("x*(1 - x)", lambda x, z: x * (1 - x)), ("1 - x**2", lambda x, z: 1 - x ** 2),
               ("(1 - x)**2", lambda x, z: (1 - x) ** 2), ("1/z", lambda x, z: 1 / z), ("z", lambda x, z: z),
               ("x", lambda x, z: x), ("-z", lambda x, z: -z), ("2*z", lambda x, z: 2 * z), ("z/x", lambda x, z: z / x),
               ("1/x", lambda x, z: 1 / x), ("-1/x", lambda x, z: -1 / x), ("x**2", lambda x, z: x ** 2),
               ("-1/x**2", lambda x, z: -1 / x ** 2), ("1/(2*x)", lambda x, z: 1 / (2 * x)),
               ("1/(2*z)", lambda x, z: 1 / (2 * z)), ("2*x", lambda x, z: 2 * x), ("1/x**2", lambda x, z: 1 / x ** 2))


def _lookalike(info, evidence) -> str:
    """A simple formula in x and z that gives the engine's number at every bad point ('' if none does)."""
    points = []
    for e in evidence:
        parsed = _point_of(e.get("probe"))
        if not parsed or len(parsed[2]) != 1 or not isinstance(e.get("got"), (int, float)):
            return ""
        points.append((parsed[2][0], float(e["got"]), e.get("expected")))
    if len(points) < 2:
        return ""
    for text, fn in _LOOKALIKES:
        try:
            if all(abs(fn(x, info.forward((x,))) - got) <= 1e-9 * max(1.0, abs(got)) for x, got, _ in points):
                return text
        except (ZeroDivisionError, OverflowError, ValueError):
            continue
    return ""


def _rule_alone(f, info, evidence, where) -> str:
    slot, _name, point = _point_of(evidence[0]["probe"])
    i = "xy".index(slot) if info.arity == 2 else 0
    names = ["x", "y"][:info.arity]
    bad = [p[2] for p in (_point_of(e.get("probe")) for e in evidence) if p]
    scope = _separation(info, bad)
    e = evidence[0]
    truth = true_partial(info, i)
    op = maths(info)
    shown = f"({op})" if info.operator else op
    head = f"{info.name}: d/d{slot} {shown} is wrong {scope}"
    numbers = (f"at {_at(names, point)} yours is {num(e.get('got'))}, the true value {num(e.get('expected'))}")
    size = off_by(e.get("got"), e.get("expected"))
    analysis = _analysis(f)
    slip = ""
    if analysis and not analysis.startswith(("at every", "at ")):
        slip = f" Yours {analysis}." if analysis.startswith("looks like") else f" The slip: {analysis}."
    elif info.arity == 1 and not info.params:
        shape = _lookalike(info, evidence)
        if shape:
            slip = f" Yours matches {shape} at every point tried."
    fix = fix_for(analysis)
    return (f"{head}: {numbers}" + (f" ({size})" if size else "") + f". The true partial: {truth}." + slip
            + _in(where) + (f" Fix: {fix}." if fix else ""))


def _numbers(x) -> str:
    """A number, or a list of them (a localised case's value and partials), as people read them."""
    return ", ".join(num(v) for v in x) if isinstance(x, (list, tuple)) else num(x)


def _grads(d: dict) -> str:
    return ", ".join(f"{k} {num(v)}" for k, v in d.items())


def _in_context(f, info, e, where) -> str:
    probe, at = e.get("probe", "?"), e.get("at") or {}
    got, expected = e.get("got") or {}, e.get("expected") or {}
    wrong = [k for k in got if not _same(got[k], expected.get(k))]
    detail = f.get("detail") or f.get("summary") or ""
    point = ", ".join(f"{k} = {num(v)}" for k, v in at.items())
    numbers = "; ".join(f"d/d{k} is {num(got[k])}, the true value {num(expected.get(k))}" for k in wrong[:3])
    node = ""
    if "first wrong node" in e:
        node = (f" Going back from the output, the first node with a wrong .grad is {e['first wrong node']}: "
                f"{num(e.get('its grad'))}, the true adjoint {num(e.get('true adjoint'))}.")
    if f["kind"] == "graph":
        m = (re.search(r"but (.*?); smallest failing graph", detail)
             or re.match(r"(.*?); smallest failing graph", detail))
        what = m.group(1) if m else "the graph walk is wrong"
        head = f"Every op is right alone, but {what}"
    else:
        m = re.search(r"right alone but (.*?); smallest failing graph", detail)
        what = m.group(1) if m else "it is wrong in context"
        context = re.match(r"^wrong in context \((.*)\)$", what)
        if context:
            what = "is wrong " + CONTEXTS.get(context.group(1), f"in context ({context.group(1)})")
        head = f"{info.name if info else f.get('op')}: right alone, but it {what}"
    fix = fix_for(detail) or (CONTEXT_FIX if re.search(r"\((reuse|fan-out|leaf reused by another op)\)", detail)
                               else "")
    return (f"{head}. Smallest failing graph: {probe} at {point}: {numbers}." + node + _in(where)
            + (f" Fix: {fix}." if fix else ""))


CONTEXTS = {
    "reuse": "when both its inputs are the same node (a node used twice)",
    "fan-out": "when one input feeds two of these ops",
    "leaf reused by another op": "when its input is used by another op too",
    "upstream": "when its output feeds another op (the upstream gradient is not 1)",
    "non-leaf input": "when its input is computed by another op",
    "equal values": "when two distinct nodes hold equal values",
}
CONTEXT_FIX = ("check that its _backward adds with `+=`, not `=`: a node used twice must collect both "
               "contributions")


def _same(a, b) -> bool:
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _forward_slip(info, point, got) -> str:
    """What a wrong value matches, beyond the diagnosis' own fits: the op at -x (a sign slip inside)."""
    try:
        flipped = info.forward(tuple(-v for v in point))
        got = float(got)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return ""
    if math.isfinite(flipped) and abs(got - flipped) <= 1e-9 * max(1.0, abs(flipped)):
        inner = f"{info.method or info.name}(-x)"
        return f"yours is {inner}: the sign of x is flipped inside the formula"
    return ""


def _forward(f, info, evidence, where) -> str:
    original = f.get("detail") or f.get("summary") or ""
    analysis = _analysis(f)
    e = evidence[0] if evidence else {}
    probe = str(e.get("probe", ""))
    m = re.match(r"^\w+ at \((.*)\)$", probe)
    if m:
        try:
            point = tuple(float(v) for v in m.group(1).split(",") if v.strip())
        except ValueError:
            point = ()
        at = _at(["x", "y"][:info.arity], point)
        head = f"{info.name}: the value of {maths(info)} is wrong: at {at} yours is {num(e.get('got'))}, " \
               f"the true value {num(e.get('expected'))}"
    else:
        head = original.split(": ", 1)[0]
    size = off_by(e.get("got"), e.get("expected")) if e else ""
    if not analysis and m:
        analysis = _forward_slip(info, point, e.get("got"))
    slip = f" ({analysis})" if analysis else (f" ({size})" if size else "")
    fix = fix_for(analysis or original)
    return head + slip + "." + _in(where) + (f" Fix: {fix}." if fix else "")


# -- the evidence, in words (the report's and the terminal's lines under a finding) -------------------------
def evidence_words(ev) -> str:
    """One piece of evidence as a line of prose (no braces, no tuples)."""
    if isinstance(ev, str):
        return ev
    if not isinstance(ev, dict):
        return num(ev) if isinstance(ev, (int, float)) else str(ev)
    if "also" in ev:
        return ev["also"] + (f" (alone it read: {ev['first']})" if ev.get("first") else "")
    probe = str(ev.get("probe", ""))
    parsed = _point_of(probe)
    got, expected = ev.get("got"), ev.get("expected")
    if parsed and not isinstance(got, dict):
        slot, name, point = parsed
        info = _ops.ops().get(name)
        names = ["x", "y"][:info.arity] if info else ["x", "y"][:len(point)]
        size = off_by(got, expected)
        return (f"d/d{slot} {name} at {_at(names, point)}: yours {num(got)}, true {num(expected)}"
                + (f" ({size})" if size else ""))
    m = re.match(r"^(\w+) at \((.*)\)$", probe)
    if m and not isinstance(got, dict):
        try:
            point = tuple(float(v) for v in m.group(2).split(",") if v.strip())
        except ValueError:
            point = ()
        size = off_by(got, expected)
        return (f"{m.group(1)} at {_at(['x', 'y'], point)}: yours {num(got)}, true {num(expected)}"
                + (f" ({size})" if size else ""))
    at = ev.get("at")
    where = (", ".join(f"{k} = {num(v)}" for k, v in at.items()) if isinstance(at, dict) else str(at or ""))
    head = probe + (f" at {where}" if where else "")
    if isinstance(got, dict):
        parts = [f"d/d{k}: yours {num(v)}, true {num((expected or {}).get(k))}" for k, v in got.items()]
        text = f"{head}: " + "; ".join(parts)
        if "first wrong node" in ev:
            text += (f"; first wrong node going back: {ev['first wrong node']} (grad {num(ev.get('its grad'))}, "
                     f"true {num(ev.get('true adjoint'))})")
        return text
    if got is not None or expected is not None:
        return f"{head}: yours {_numbers(got)}, true {_numbers(expected)}"
    if "file" in ev and len(ev) == 1:
        return f"in {ev['file']}"
    rest = "; ".join(f"{k} {num(v) if isinstance(v, (int, float)) else v}" for k, v in ev.items()
                     if k not in ("probe", "at"))
    return head + (f": {rest}" if rest and head else rest)
