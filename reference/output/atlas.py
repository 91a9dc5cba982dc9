"""The atlas: every registry op, at its ordinary points and at every edge, through every AD system.

The engine, torch, jax, HIPS autograd, mygrad and tinygrad side by side, beside the exact oracle
and the valid set (the interval of subgradients at a kink; the oracle's number elsewhere). Each
cell is judged by the harness's own judge (``reference.judge`` / ``reference.hessian``) and named
in the atlas's words: agree, convention, undefined, wrong, raises, unsupported. Wrong answers
and raises are findings, listed apart from the conventions, each with a reproducer in the
system's own API, the version, whether the system documents it and where its rule lives.

The pages are the same bytes on any CPU: numbers are written with 10 significant digits, no
times or dates, and the verdicts do not depend on the last bits.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from autodiff import __version__
from autodiff.rules import RULES, Rule
from reference.backends import Backend, make_backends
from reference.core.files import write_pair
from reference.core.formatting import fmt
from reference.core.systems import SYSTEMS, version
from reference.corpus.cases import PRIMITIVE_CASES, Case
from reference.running.harness import run_case

__all__ = ["ATLAS_BACKENDS", "VERDICT_ORDER", "atlas", "atlas_json", "atlas_markdown", "atlas_svg", "write_atlas"]

ATLAS_BACKENDS = ("engine", "torch", "jax", "autograd", "mygrad", "tinygrad")
# The atlas's verdicts, worst first (the overview shows a system's worst at an op).
VERDICT_ORDER = ("wrong", "raises", "undefined", "convention", "agree", "unsupported")
COLOURS = {"agree": "#4caf50", "convention": "#8bc34a", "undefined": "#ffc107", "wrong": "#e53935",
           "raises": "#8e24aa", "unsupported": "#bdbdbd"}
_FROM_JUDGE = {"agree": "agree", "convention": "convention", "undefined": "undefined", "mismatch": "wrong",
               "error": "raises", "raises": "raises", "unsupported": "unsupported", "unjudged": "undefined"}
DIGITS = 10

# Whether each system says what it does where the atlas finds it off: (system, op) -> the fact, and where.
DOCUMENTED: dict[tuple[str, str], str] = {
    ("tinygrad", "relu"): "partly: a comment in Tensor.relu (tinygrad/mixin/elementwise.py) says it is written "
                          "as a where because maximum(x, 0) would pass half the gradient at 0; nothing on higher order",
    ("mygrad", "maximum"): "no: mygrad.maximum's docstring does not say what the gradient is at a tie",
    ("autograd", "sqrt"): "no: autograd documents no float semantics for its VJPs; its README asks for NumPy "
                          "inputs, and a Python float goes through Python's own power",
    ("jax", "powc"): "partly: jax.numpy.power's docstring says integer exponents go to lax.integer_pow, "
                     "'differentiable wrt its first argument at 0'; a float exponent gets no such promise",
}

# Findings the corpus's composite cases show beyond the single ops: (system, case) -> what, and a reproducer.
CORPUS_FINDINGS: dict[tuple[str, str], tuple[str, str]] = {
    ("tinygrad", "x**y**z"): (
        "x ** (y ** z) with three float64 data tensors raises ValueError: cannot convert float NaN to integer "
        "while tinygrad builds the kernel (the value alone, before any gradient); x ** (y ** 0.5) runs",
        "from tinygrad import Tensor, dtypes\n"
        "x, y, z = [Tensor([v], dtype=dtypes.float64).reshape(()) for v in (1.5, 2.0, 0.5)]\n"
        "print((x ** (y ** z)).item())"),
}

# -- spelling: how each system writes an op, for reproducers ------------------------------------
def _engine_text(rule: Rule, inputs: list[str], params: tuple) -> str:
    if rule.spelling.operator == "neg":
        return f"-{inputs[0]}"
    if rule.spelling.operator:
        right = repr(float(params[0])) if params else inputs[1]
        return f"{inputs[0]} {rule.spelling.operator} {right}"
    extra = [repr(float(p)) for p in params]
    return f"{inputs[0]}.{rule.spelling.method}({', '.join(inputs[1:] + extra)})"


_TORCH_FUNCTION = {"softplus": "torch.nn.functional.softplus", "leaky_relu": "torch.nn.functional.leaky_relu"}


def _torch_text(rule: Rule, inputs: list[str], params: tuple) -> str:
    if rule.spelling.operator:
        return _engine_text(rule, inputs, params)
    fn = _TORCH_FUNCTION.get(rule.name, f"torch.{rule.name}")
    return f"{fn}({', '.join(inputs + [repr(float(p)) for p in params])})"


def op_text(backend: Backend, rule: Rule, inputs: list[str], params: tuple) -> str:
    """How ``backend``'s system writes ``rule`` on ``inputs`` (and params), in its own API."""
    if backend.name == "engine":
        return _engine_text(rule, inputs, params)
    if backend.name == "torch":
        return _torch_text(rule, inputs, params)
    if getattr(rule.systems, backend.name, None) is None:
        return ""
    text = rule.systems.spelled.get(backend.name)
    if text is None:  # an operator: Python's own spelling, as the engine's
        return _engine_text(rule, inputs, params)
    return text.format(*inputs, *[repr(float(p)) for p in params])


def rule_source(backend: Backend, rule: Rule) -> str:
    """Where the system's derivative rule for ``rule`` lives (file: function), in one phrase."""
    if backend.name == "engine":
        return f"autodiff/rules.py: the {rule.name} row's partials"
    if backend.name == "torch":
        formula = "; ".join(rule.systems.torch_formula) if rule.systems.torch_formula else "the op's entry"
        return f"tools/autograd/derivatives.yaml: {formula}"
    return rule.systems.rule_source.get(backend.name, "")


def _number(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) and x == x and x not in (math.inf, -math.inf) else \
        {True: "float('nan')", False: ""}[x != x] or ("float('inf')" if x > 0 else "-float('inf')")


def reproducer(backend: Backend, rule: Rule, point: tuple[float, ...], params: tuple, order: int) -> str:
    """A few lines to paste: the op at the point through the system's own API, printing what the atlas shows."""
    k = rule.arity
    names = ["x", "y"][:k]
    values = [_number(v) for v in point]
    expr = op_text(backend, rule, names, params)
    args = ", ".join(values)
    name = backend.name
    if name == "engine":
        lines = ["from autodiff import Value, grad"] + [f"{n} = Value({v})" for n, v in zip(names, values)]
        lines.append(f"f = {expr}")
        if order == 1:
            lines.append(f"print(grad(f, [{', '.join(names)}]))")
        else:
            lines.append(f"print([[h.data for h in grad(g, [{', '.join(names)}])] for g in "
                         f"grad(f, [{', '.join(names)}], create_graph=True)])")
    elif name == "torch":
        lines = ["import torch"] + [f"{n} = torch.tensor({v}, dtype=torch.float64, requires_grad=True)"
                                    for n, v in zip(names, values)]
        if order == 1:
            lines += [f"f = {expr}", f"print(torch.autograd.grad(f, [{', '.join(names)}]))"]
        else:
            tensors = ", ".join(f"torch.tensor({v}, dtype=torch.float64)" for v in values)
            lines.append(f"print(torch.autograd.functional.hessian(lambda {', '.join(names)}: {expr}, ({tensors},)))")
    elif name == "jax":
        lines = backend.imports.splitlines() + [f"f = lambda {', '.join(names)}: {expr}"]
        argnums = "" if k == 1 else f", argnums=({', '.join(str(i) for i in range(k))})"
        what = "jax.grad" if order == 1 else "jax.hessian"
        lines.append(f"print({what}(f{argnums})({args}))")
    elif name == "autograd":
        lines = backend.imports.splitlines()
        if k == 1:
            lines.append(f"f = lambda x: {expr}")
            lines.append(f"print(grad(f)({args}))" if order == 1 else f"print(grad(grad(f))({args}))")
        else:
            lines.append(f"f = lambda xy: (lambda x, y: {expr})(*xy)")
            lines.append(f"print(grad(f)(({args})))" if order == 1 else
                         f"print([grad(lambda v, i=i: grad(f)(v)[i])(({args})) for i in range({k})])")
    elif name == "mygrad":
        lines = backend.imports.splitlines() + [f"{n} = mg.tensor({v})" for n, v in zip(names, values)]
        lines += [f"f = {expr}", "f.backward()", f"print({', '.join(n + '.grad' for n in names)})"]
    elif name == "tinygrad":
        lines = ["from tinygrad import Tensor, dtypes"] + [
            f"{n} = Tensor([{v}], dtype=dtypes.float64).reshape(())" for n, v in zip(names, values)]
        lines.append(f"f = {expr}")
        if order == 1:
            lines.append(f"print([g.item() for g in f.gradient({', '.join(names)})])")
        else:
            lines.append(f"print([[h.item() for h in g.gradient({', '.join(names)})] for g in "
                         f"f.gradient({', '.join(names)})])")
    else:
        return ""
    return "\n".join(lines)


# -- running ---------------------------------------------------------------------------------------
def _cases() -> list[tuple[Rule, Case, tuple]]:
    """(row, primitive case, params) for every registry op and each value of its constant parameters."""
    out = []
    for case in PRIMITIVE_CASES:
        op = next(t.split(":", 1)[1] for t in case.tags if t.startswith("op:"))
        rule = RULES[op]
        params: tuple = ()
        if rule.params:
            inside = case.name[case.name.index("[") + 1:-1]
            params = tuple(float(part.split("=", 1)[1]) for part in inside.split(", "))
        out.append((rule, case, params))
    return out


def _valid(rule: Rule, values: tuple, params: tuple, oracle_grad: list[float]) -> tuple[str, list]:
    """The edge key ('' if ordinary) and, per input, the valid slopes: (lo, hi) at a kink, else the oracle's."""
    edge = rule.edge_at(*values, *params)
    if edge is not None and edge.kind == "kink":
        return edge.key, [list(s) for s in edge.slopes(*params)]
    return (edge.key if edge else ""), [[g, g] for g in oracle_grad]


def _worst(verdicts) -> str:
    found = [v for v in verdicts if v in VERDICT_ORDER]
    if not found:
        return "unsupported"
    return min(found, key=VERDICT_ORDER.index)


def _tie_sum_broken(rule: Rule, edge_key: str, grad: list[float]) -> bool:
    """At a tie of maximum the partials must add up to 1 (f(x + h, y + h) = f(x, y) + h): (0, 0) is no subgradient."""
    if rule.name != "maximum" or edge_key != "maximum@tie" or len(grad) != 2:
        return False
    return all(isinstance(g, float) and math.isfinite(g) for g in grad) and abs(grad[0] + grad[1] - 1.0) > 1e-12


def atlas(order: int = 2, backend_names: tuple[str, ...] = ATLAS_BACKENDS,
          progress: Callable[[int, int, str], None] | None = None, only: Sequence[str] | None = None) -> dict:
    """The atlas as data: systems, ops with their points and cells, the overview, the findings (``only``: these ops)."""
    backends = make_backends(backend_names)
    by_name = {b.name: b for b in backends}
    ops: dict[str, dict] = {}
    findings: list[dict] = []
    todo = [t for t in _cases() if only is None or t[0].name in only]
    for n, (rule, case, params) in enumerate(todo):
        records = run_case(case, backends, order=order)
        entry = ops.setdefault(rule.name, {"op": rule.name, "points": []})
        for point in case.points:
            first = {r["backend"]: r for r in records if r.get("order", 1) == 1 and
                     tuple(r["point"].values()) == point.values}
            second = {r["backend"]: r for r in records if r.get("order") == 2 and
                      tuple(r["point"].values()) == point.values}
            any_record = next(iter(first.values()))
            oracle_grad = [any_record["oracle_grad"].get(v, math.nan) for v in case.variables]
            edge_key, valid = _valid(rule, point.values, params, oracle_grad)
            edge = next((e for e in rule.edges if e.key == edge_key), None)
            cells = {}
            for b in backends:
                r1, r2 = first.get(b.name), second.get(b.name)
                cell = _cell(b, rule, r1, r2, case, edge_key)
                cells[b.name] = cell
                for o, verdict, note in ((1, cell["verdict"], cell["note"]),
                                         (2, cell.get("verdict2"), cell.get("note2", ""))):
                    if verdict in ("wrong", "raises"):
                        findings.append(_finding(b, rule, point.values, params, o, verdict, note, edge_key))
            entry["points"].append({
                "point": dict(zip(case.variables, point.values)), "params": dict(zip(rule.params, params)),
                "edge": edge_key, "kind": edge.kind if edge else "ordinary", "truth": edge.truth if edge else "",
                "oracle": {"value": any_record["oracle_value"], "grad": oracle_grad,
                           **({"hessian": _oracle_hessian(second, case)} if order == 2 else {})},
                "valid": valid, "cells": cells,
            })
        if progress:
            progress(n + 1, len(todo), case.name)
    overview = {op: {b.name: _overview_cell(op_entry, b.name) for b in backends} for op, op_entry in ops.items()}
    parts = _partings(ops, by_name)
    systems = {b.name: {"version": _version(b), "method": b.method,
                        "available": not b.method.startswith("(not available)"),
                        **({"reason": b.reason} if hasattr(b, "reason") else {})} for b in backends}
    corpus = [{"system": name, "version": version(name), "case": case_name, "what": what, "reproducer": code}
              for (name, case_name), (what, code) in CORPUS_FINDINGS.items() if name in by_name]
    return {"order": order, "systems": systems, "ops": list(ops.values()), "overview": overview,
            "findings": findings, "corpus_findings": corpus, "partings": parts}


def _version(b: Backend) -> str:
    if b.name in SYSTEMS:
        return version(b.name)
    if b.name == "torch":
        import torch
        return torch.__version__
    return f"autodiff {__version__}"


def _oracle_hessian(second: dict, case: Case) -> list[list[float]]:
    r = next(iter(second.values()), None)
    if r is None or not r.get("oracle_hessian"):
        return []
    v = case.variables
    return [[r["oracle_hessian"][a][b] for b in v] for a in v]


def _cell(b: Backend, rule: Rule, r1: dict | None, r2: dict | None, case: Case, edge_key: str) -> dict:
    """One system at one point: its numbers, the atlas verdict (first and second order) and why."""
    v = case.variables
    cell: dict = {}
    if r1 is not None:
        verdict = _FROM_JUDGE.get(r1["verdict"], r1["verdict"])
        grad = [r1["grad"].get(x, math.nan) for x in v] if r1["status"] == "ok" else []
        note = r1["note"] or r1["message"]
        if r1["status"] == "error":
            note = r1["message"]
        if verdict in ("agree", "convention") and _tie_sum_broken(rule, edge_key, grad):
            verdict, note = "wrong", (f"at a tie the partials add up to {grad[0] + grad[1]:g}, not 1: "
                                      "no subgradient of max(x, y) (f(x + h, y + h) = f(x, y) + h)")
        cell.update(verdict=verdict, value=r1["value"] if r1["status"] == "ok" else math.nan, grad=grad, note=note)
        if r1["status"] == "error":
            cell["exception"] = (r1["message"].split(":", 1)[0]).strip()
    if r2 is not None:
        verdict2 = _FROM_JUDGE.get(r2["verdict"], r2["verdict"])
        h = [[r2["hessian"][a][c] for c in v] for a in v] if r2["status"] == "ok" else []
        cell.update(verdict2=verdict2, hessian=h, note2=r2["note"] or r2["message"])
    return cell


def _finding(b: Backend, rule: Rule, point: tuple[float, ...], params: tuple, order: int, verdict: str, note: str,
             edge_key: str) -> dict:
    return {
        "system": b.name, "version": _version(b), "op": rule.name, "order": order,
        "point": list(point), "params": list(params), "edge": edge_key, "verdict": verdict,
        "what": note, "reproducer": reproducer(b, rule, point, params, order),
        "documented": DOCUMENTED.get((b.name, rule.name), "not stated in the function's documentation"),
        "rule": rule_source(b, rule),
    }


def _overview_cell(op_entry: dict, name: str) -> dict:
    firsts = [p["cells"][name]["verdict"] for p in op_entry["points"] if "verdict" in p["cells"].get(name, {})]
    seconds = [p["cells"][name]["verdict2"] for p in op_entry["points"] if "verdict2" in p["cells"].get(name, {})]
    return {"first": _worst(firsts), "second": _worst(seconds) if seconds else ""}


def _same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if not ((x != x and y != y) or x == y or (math.isfinite(x) and math.isfinite(y)
                                                  and abs(x - y) <= 1e-9 * max(abs(x), abs(y)))):
            return False
    return True


def _partings(ops: dict, by_name: dict) -> list[dict]:
    """Points where the systems' first derivatives part: each system's answer and where its rule lives."""
    out = []
    for op, entry in ops.items():
        rule = RULES[op]
        for p in entry["points"]:
            answers = {name: c["grad"] for name, c in p["cells"].items() if c.get("grad")}
            raised = {name for name, c in p["cells"].items() if c.get("verdict") == "raises"}
            groups: list[tuple[list, list[str]]] = []
            for name, g in answers.items():
                for grad, members in groups:
                    if _same(grad, g):
                        members.append(name)
                        break
                else:
                    groups.append((g, [name]))
            if len(groups) + (1 if raised else 0) < 2:
                continue
            out.append({"op": op, "point": p["point"], "params": p["params"], "edge": p["edge"],
                        "groups": [{"grad": g, "systems": m} for g, m in groups],
                        "raises": sorted(raised),
                        "rules": {name: rule_source(by_name[name], rule) for name in p["cells"]
                                  if name in answers or name in raised}})
    return out


# -- writing -----------------------------------------------------------------------------------------
def _n(x) -> str:
    """A number as the pages write it: 10 significant digits, nan/inf spelled out."""
    if isinstance(x, float):
        if x != x:
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return fmt(x, DIGITS)


def _round(doc):
    """The JSON's numbers at 10 significant digits (the same on every CPU), non-finite ones as strings."""
    if isinstance(doc, float):
        if not math.isfinite(doc):
            return "nan" if doc != doc else ("inf" if doc > 0 else "-inf")
        return float(f"{doc:.{DIGITS}g}")
    if isinstance(doc, dict):
        return {k: _round(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [_round(v) for v in doc]
    return doc


def atlas_json(doc: dict) -> str:
    """The atlas as JSON (sorted keys where order carries no meaning; 10 significant digits)."""
    import json
    return json.dumps(_round(doc), indent=1, ensure_ascii=False) + "\n"


def _point_text(p: dict) -> str:
    text = ", ".join(f"{k} = {_n(float(v))}" for k, v in p["point"].items())
    if p["params"]:
        text += " (" + ", ".join(f"{k} = {_n(float(v))}" for k, v in p["params"].items()) + ")"
    return text


def _valid_text(p: dict) -> str:
    if p["kind"] == "kink":
        return "; ".join(f"[{_n(lo)}, {_n(hi)}]" for lo, hi in p["valid"])
    return ", ".join(_n(lo) for lo, _ in p["valid"])


def _cell_text(cell: dict, order: int) -> str:
    if order == 1:
        if cell.get("verdict") == "unsupported":
            return "unsupported"
        if cell.get("verdict") == "raises":
            return f"raises {cell.get('exception', '')}".strip()
        return ", ".join(_n(g) for g in cell.get("grad", [])) + f" ({cell.get('verdict', '')})"
    if "verdict2" not in cell:
        return ""
    if cell["verdict2"] in ("unsupported",):
        return "unsupported"
    if cell["verdict2"] == "raises":
        return "raises"
    flat = [h for row in cell.get("hessian", []) for h in row]
    return ", ".join(_n(h) for h in flat) + f" ({cell['verdict2']})"


def atlas_markdown(doc: dict) -> str:
    """The atlas page: the overview first, then the findings, the partings, and one section per op."""
    names = list(doc["systems"])
    out = ["# The atlas: every op, at every edge, through every AD system", ""]
    out.append("Each registry op at its ordinary points and at each edge (kink, pole, domain edge, flat spot), "
               "through " + ", ".join(names) + ", beside the exact oracle and the valid set (the interval of "
               "subgradients at a kink). Verdicts: **agree** (the oracle's number within the method's tolerance), "
               "**convention** (a valid subgradient at a kink, or a declared convention), **undefined** (no finite "
               "true derivative, and the system says nan or inf), **wrong** (a number outside the valid set, nan or "
               "inf where a finite derivative exists), **raises** (an exception on an ordinary float), "
               "**unsupported** (the system has no such op, or no second order).")
    out.append("")
    out.append("Systems: " + "; ".join(f"{n} {doc['systems'][n]['version']} ({doc['systems'][n]['method']})"
                                       + (f" - {doc['systems'][n]['reason']}" if doc['systems'][n].get('reason')
                                          else "") for n in names) + ".")
    out += ["", "![the atlas overview](atlas.svg)", "", "## Overview", "",
            "How each system stands at each op, over its ordinary points and its edges: the worst first-order "
            "verdict" + (", then the worst second-order one" if doc["order"] == 2 else "") + ".", ""]
    out.append("| op | " + " | ".join(names) + " |")
    out.append("| --- |" + " --- |" * len(names))
    for op, row in doc["overview"].items():
        cells = []
        for n in names:
            c = row[n]
            text = c["first"]
            if c["second"]:
                text += f" / {c['second']}"
            cells.append(text)
        out.append(f"| {op} | " + " | ".join(cells) + " |")
    out += ["", f"## Findings ({len(doc['findings'])})", "",
            "Not conventions: a number outside the valid set, nan or inf where a finite derivative exists, "
            "a raise on an ordinary float. Each with a reproducer in the system's own API.", ""]
    for i, f in enumerate(doc["findings"], 1):
        where = ", ".join(_n(float(v)) for v in f["point"])
        params = f" with {', '.join(_n(float(p)) for p in f['params'])}" if f["params"] else ""
        order = "first" if f["order"] == 1 else "second"
        out.append(f"### {i}. {f['system']} {f['version']}: {f['op']} at ({where}){params}, {order} order: "
                   f"{f['verdict']}")
        out.append("")
        out.append(f"- what: {f['what']}")
        out.append(f"- the rule: {f['rule']}")
        out.append(f"- documented: {f['documented']}")
        out += ["", "```python", f["reproducer"], "```", ""]
    if doc.get("corpus_findings"):
        out += [f"## Findings in the corpus's composite cases ({len(doc['corpus_findings'])})", ""]
        for f in doc["corpus_findings"]:
            out += [f"### {f['system']} {f['version']}: {f['case']}", "", f"- what: {f['what']}", "",
                    "```python", f["reproducer"], "```", ""]
    out += ["## Where the systems part", "",
            "Points where the first derivatives differ between systems (conventions included), each group of "
            "systems with its answer, and where each system's rule lives.", ""]
    for p in doc["partings"]:
        text = _point_text(p)
        groups = "; ".join(f"{', '.join(g['systems'])}: {', '.join(_n(x) for x in g['grad'])}" for g in p["groups"])
        if p["raises"]:
            groups += f"; {', '.join(p['raises'])}: raises"
        out.append(f"- **{p['op']}** at {text}{' (' + p['edge'] + ')' if p['edge'] else ''}: {groups}.")
        for name, src in p["rules"].items():
            if src:
                out.append(f"  - {name}: {src}")
    out.append("")
    out.append("## Every op, every point")
    for op in doc["ops"]:
        out += ["", f"### {op['op']}", "", *op_section(doc, op)]
    return "\n".join(out) + "\n"


def op_section(doc: dict, op: dict) -> list[str]:
    """One op's tables: each point through every system beside the oracle and the valid set (and the Hessians)."""
    names = list(doc["systems"])
    out = []
    lacking = [f"{n}: {c}" for n, c in ((n, _lacks_of(doc, op, n)) for n in names) if c]
    if lacking:
        out += ["Lacking: " + "; ".join(lacking), ""]
    out.append("| point | edge | oracle d/d | valid | " + " | ".join(names) + " |")
    out.append("| --- | --- | --- | --- |" + " --- |" * len(names))
    for p in op["points"]:
        edge = p["edge"] or "ordinary"
        oracle = ", ".join(_n(g) for g in p["oracle"]["grad"])
        cells = [_cell_text(p["cells"].get(n, {}), 1) for n in names]
        out.append(f"| {_point_text(p)} | {edge} | {oracle} | {_valid_text(p)} | " + " | ".join(cells) + " |")
    if doc["order"] == 2:
        out += ["", "Second order (H row by row):", ""]
        out.append("| point | oracle H | " + " | ".join(names) + " |")
        out.append("| --- | --- |" + " --- |" * len(names))
        for p in op["points"]:
            oh = ", ".join(_n(h) for row in p["oracle"].get("hessian", []) for h in row)
            cells = [_cell_text(p["cells"].get(n, {}), 2) for n in names]
            out.append(f"| {_point_text(p)} | {oh} | " + " | ".join(cells) + " |")
    return out


def _lacks_of(doc: dict, op: dict, name: str) -> str:
    cells = [p["cells"].get(name, {}) for p in op["points"]]
    if cells and all(c.get("verdict") == "unsupported" for c in cells):
        return cells[0].get("note", "")
    return ""


def atlas_svg(doc: dict) -> str:
    """The overview as a hand-written SVG grid: ops down, systems across, coloured by the worst verdict."""
    names = list(doc["systems"])
    ops = list(doc["overview"])
    cw, ch, left, top = 92, 18, 90, 40
    width = left + cw * len(names) + 10
    height = top + ch * len(ops) + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for j, n in enumerate(names):
        out.append(f'<text x="{left + j * cw + cw // 2}" y="{top - 8}" text-anchor="middle">{n}</text>')
    for i, op in enumerate(ops):
        y = top + i * ch
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{op}</text>')
        for j, n in enumerate(names):
            c = doc["overview"][op][n]
            x = left + j * cw
            first, second = c["first"], c["second"]
            if second:
                out.append(f'<rect x="{x}" y="{y}" width="{cw // 2}" height="{ch - 2}" fill="{COLOURS[first]}"/>')
                out.append(f'<rect x="{x + cw // 2}" y="{y}" width="{cw - cw // 2 - 2}" height="{ch - 2}" '
                           f'fill="{COLOURS[second]}"/>')
            else:
                out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{COLOURS[first]}"/>')
    y = top + ch * len(ops) + 16
    for k, v in enumerate(VERDICT_ORDER):
        x = 10 + k * 100
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS[v]}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}">{v}</text>')
    if doc["order"] == 2:
        out.append(f'<text x="10" y="{y + 32}">each cell: first order (left half), second order (right half)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_atlas(out: Path, order: int = 2, progress=None) -> tuple[dict, list[Path]]:
    """Run the atlas and write atlas.md, atlas.json and atlas.svg into ``out`` together."""
    doc = atlas(order, progress=progress)
    files = {"atlas.md": atlas_markdown(doc), "atlas.json": atlas_json(doc), "atlas.svg": atlas_svg(doc)}
    write_pair(Path(out), files)
    return doc, [Path(out) / name for name in files]
