"""The subject's own graph, drawn: each node with its op, its .grad and the true adjoint, wrong ones in red
and the first wrong one (going back from the output) named (issue 24).

``adcheck graph --engine`` draws one expression; ``finding_pictures`` draws, for each graph finding
and for the smallest failing case of each rule finding, the graph the finding is about, as SVG
text to write beside conformance.md. Without Graphviz one line says so and nothing else changes.
"""
from __future__ import annotations

import operator
import re
import shutil

from autodiff import Value
from autodiff.draw import INSTALL_DOT, _close, _graphviz, draw_nodes
from reference.corpus.cases import Case
from reference.corpus.parser import ExpressionError, parse, to_case
from reference.subject import ops as _ops
from reference.subject.tasks import Tasks
from reference.subject.worker import Failure


def _project_value():
    return Value


def engine_graph(subject, case, point) -> dict | Failure:
    """The subject's nodes after backward, each with ``true_grad`` (this project's engine on the same case,
    paired by the op that made it), ``wrong`` indices and ``first`` (the wrong node nearest the output)."""
    got = subject.graph(case, point)
    if isinstance(got, Failure):
        return got
    nodes = got.get("nodes", [])
    truth = Tasks(cls=_project_value())
    truth.setup()
    true_nodes = truth.graph(case, point)["nodes"]
    by_step = {n["step"]: n for n in true_nodes if n.get("step") is not None}
    by_variable = {n["variable"]: n for n in true_nodes if n.get("variable")}
    for node in nodes:
        match = by_variable.get(node.get("variable")) if node.get("variable") else by_step.get(node.get("step"))
        if match is not None:
            node["true_grad"] = match["grad"]
        if node.get("variable"):
            node["label"] = node["variable"]
    if nodes:
        nodes[-1]["label"] = nodes[-1].get("label") or "out"
    rtol = 1e-4 if subject.detected.get("precision") == "float32" else 1e-9
    wrong = [i for i, n in enumerate(nodes) if "true_grad" in n and not _close(n["grad"], n["true_grad"], rtol)]
    if wrong:
        first = nodes[wrong[-1]]
        first["label"] = ((first.get("label") or "") + " (first wrong)").strip()
    return {"nodes": nodes, "readable": bool(got.get("readable")), "wrong": wrong, "rtol": rtol,
            "first": wrong[-1] if wrong else None}


def draw(graph: dict, rankdir: str = "LR"):
    return draw_nodes(graph["nodes"], rankdir=rankdir, rtol=graph["rtol"])


def first_wrong_words(nodes: list[dict], k: int) -> str:
    """Where backward first goes wrong: the wrong node nearest the output, and the ops it feeds.

    Nodes run inputs first, so every node after ``k`` is right: ``k``'s gradient is wrong because
    one of the backward steps of the nodes it feeds (or their accumulation into it) is.
    """
    node = nodes[k]
    what = f"the {node['op']} node" if node.get("op") else "the leaf"
    if node.get("variable"):
        what += f" {node['variable']}"
    users = [n for n in nodes if k in n.get("inputs", [])]
    ops = list(dict.fromkeys(n.get("op") or "?" for n in users))
    text = (f"Going back from the output, the first wrong one is {what} (data {node['data']:.6g}): grad "
            f"{node['grad']:.6g}, true {node['true_grad']:.6g}.")
    if len(users) == 1:
        text += f" It feeds one {ops[0]} node, whose backward step passes it the wrong gradient."
    elif users:
        text += (f" It feeds {len(users)} nodes ({', '.join(ops)}): one of their backward steps is wrong, or "
                 "their contributions are not all added up (+=).")
    return text


def render_problem() -> str:
    """Why no SVG can be drawn here ('' when Graphviz and its `dot` are both present)."""
    try:
        _graphviz()
    except ImportError as err:
        return str(err)
    if shutil.which("dot") is None:
        return INSTALL_DOT.replace("drawing needs", "drawing it needs")
    return ""


# -- the case a finding is about: a probe's graph, equal subexpressions one node ----------------------------
class _Shared:
    """A value of a probe's expression: an op applied twice to the same operands gives the same node, as in
    the probe (``((a * b) * c) + (a * b)`` has one ``a * b``, used twice)."""

    __slots__ = ("memo", "v")

    def __init__(self, v, memo):
        self.v, self.memo = v, memo

    def _key(self, x):
        return ("node", id(x.v)) if isinstance(x, _Shared) else ("const", x)

    def _apply(self, key, make):
        hit = self.memo.get(key)
        if hit is None:
            hit = self.memo[key] = (_Shared(make(), self.memo), self)  # keep the operands alive: ids stay unique
        return hit[0]


def _shared_binary(fn, reflected):
    def op(self, other):
        a, b = (other, self) if reflected else (self, other)
        key = (fn.__name__, a._key(a) if isinstance(a, _Shared) else ("const", a), b._key(b) if isinstance(b, _Shared)
               else ("const", b))
        return self._apply(key, lambda: fn(a.v if isinstance(a, _Shared) else a, b.v if isinstance(b, _Shared) else b))
    return op


for _name, _fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("truediv", operator.truediv),
                   ("pow", operator.pow)):
    setattr(_Shared, f"__{_name}__", _shared_binary(_fn, False))
    setattr(_Shared, f"__r{_name}__", _shared_binary(_fn, True))
_Shared.__neg__ = lambda self: self._apply(("neg", self._key(self)), lambda: -self.v)


class _SharedMath:
    def __init__(self, m, memo):
        self.m, self.memo = m, memo

    def __getattr__(self, name):
        fn = getattr(self.m, name)

        def call(*args):
            first = next(a for a in args if isinstance(a, _Shared))
            key = (name, *(a._key(a) if isinstance(a, _Shared) else ("const", a) for a in args))
            return first._apply(key, lambda: fn(*(a.v if isinstance(a, _Shared) else a for a in args)))
        return call


def probe_case(text: str, at: dict) -> Case:
    """A one-point case of a probe's expression, equal subexpressions built once (ExpressionError if bad)."""
    variables, compiled = parse(text)
    base = to_case(text, at)  # checks the variables

    def fn(m, *values):
        memo: dict = {}
        out = compiled(_SharedMath(m, memo), {v: _Shared(x, memo) for v, x in zip(variables, values)})
        return out.v if isinstance(out, _Shared) else out

    return Case(base.name, fn, base.variables, base.points, frozenset({"probe"}))


_ALONE = re.compile(r"^d/d[xy] (\w+)\((.*)\)$")


def finding_case(finding: dict) -> tuple[str, dict] | None:
    """(expression, point) of the smallest failing graph of a rule or graph finding; None if it has none."""
    if finding.get("kind") not in ("rule", "graph"):
        return None
    for ev in finding.get("evidence") or []:
        if not isinstance(ev, dict):
            continue
        probe = str(ev.get("probe", ""))
        if isinstance(ev.get("at"), dict) and probe:
            return probe, dict(ev["at"])
        m = _ALONE.match(probe)
        if m:
            info = _ops.ops().get(m.group(1))
            try:
                point = [float(v) for v in m.group(2).split(",") if v.strip()]
            except ValueError:
                continue
            if info is None or len(point) != info.arity:
                continue
            names = ["a", "b"][:info.arity]
            if info.operator == "neg":
                text = "-a"
            elif info.operator:
                text = f"a {info.operator} {repr(float(info.probe_params[0])) if info.params else 'b'}"
            else:
                params = [repr(float(p)) for p in info.probe_params]
                text = f"{info.method or info.name}({', '.join(names + params)})"
            return text, dict(zip(names, point))
    return None


def finding_pictures(subject, findings: list[dict], prefix: str = "finding") -> dict[str, str]:
    """SVG text per file name for each finding with a failing case; each finding gets ``picture``
    (``{"file", "case"}``) or ``picture_note`` (why there is none)."""
    files: dict[str, str] = {}
    drawn: dict = {}  # (expression, point) -> the picture already drawn of it
    k = 0
    for f in findings:
        f.pop("picture", None)  # a subject shared in this process keeps its findings: no picture of another report
        f.pop("picture_note", None)
        found = finding_case(f)
        if found is None:
            continue
        text, at = found
        if (text, tuple(at.items())) in drawn:
            f["picture"] = drawn[(text, tuple(at.items()))]
            continue
        try:
            case = probe_case(text, at)
        except ExpressionError:
            continue
        graph = engine_graph(subject, case, case.points[0].values)
        shown = f"{text} at " + ", ".join(f"{n} = {v:.6g}" for n, v in at.items())
        if isinstance(graph, Failure) or not graph["nodes"]:
            f["picture_note"] = f"No picture: the engine could not build {shown}" + (
                f" ({graph.message})" if isinstance(graph, Failure) else "")
            continue
        note = render_problem()
        if note:
            f["picture_note"] = f"No picture of {shown}: {note}"
            continue
        gv = _graphviz()
        try:
            svg = draw(graph).pipe(format="svg").decode("utf-8")
        except (gv.ExecutableNotFound, gv.CalledProcessError, OSError) as err:
            f["picture_note"] = f"No picture of {shown}: dot failed ({str(err).splitlines()[0] if str(err) else err})"
            continue
        k += 1
        name = f"{prefix}-{k}.svg"
        files[name] = svg
        picture = {"file": name, "case": shown}
        if graph["first"] is not None:
            picture["first_wrong"] = first_wrong_words(graph["nodes"], graph["first"])
        f["picture"] = drawn[(text, tuple(at.items()))] = picture
    return files
