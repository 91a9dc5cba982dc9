"""Renders records and their summary as Markdown and JSON; computes nothing."""
from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from pathlib import Path

from tabulate import tabulate

from .conventions import ANY, CONVENTIONS
from .harness import VERDICTS


def versions() -> dict[str, str]:
    """Versions of what produced the numbers."""
    import mpmath
    import numpy
    import sympy
    import torch

    from autodiff import __version__ as engine
    return {"python": platform.python_version(), "sympy": sympy.__version__, "mpmath": mpmath.__version__,
            "torch": torch.__version__, "numpy": numpy.__version__, "autodiff": engine}


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fmt(x) -> str:
    """A number as the report shows it (strings such as 'nan' pass through)."""
    if isinstance(x, str):
        return x
    if x is None:
        return "any"
    if isinstance(x, float) and math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def _point(p: dict) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in list(p.items())[:4]) + (" ..." if len(p) > 4 else "")


def _grads(g: dict, limit: int = 4) -> str:
    return ", ".join(fmt(v) for v in list(g.values())[:limit]) + (" ..." if len(g) > limit else "")


def conformance_markdown(summary: dict, meta: dict) -> str:
    """The human-readable report."""
    out = ["# Conformance report", ""]
    out.append(f"Engine under test: `{meta['engine']}`. Corpus: {summary['cases']} cases, {summary['points']} points, "
               f"{summary['records']} records (one per case, point and backend). Oracle: {meta['oracle']}.")
    out.append("")
    if summary["unexpected"]:
        out.append(f"**{len(summary['unexpected'])} unexpected mismatch(es)** (listed below).")
    else:
        out.append("**No unexpected mismatch.** Every disagreement with the oracle is a declared convention, "
                   "an undefined point or a known limitation of a method.")
    out += ["", "## Summary: backends x verdicts", ""]
    rows = [[b, *[summary["counts"][b][v] for v in VERDICTS], fmt(summary["max_rel_err_agree"][b])]
            for b in summary["backends"]]
    out.append(tabulate(rows, ["backend", *VERDICTS, "largest error among agree"], tablefmt="github"))
    out += ["", "Verdicts: `agree` within the backend's tolerance; `convention` a kink or edge where the backend "
            "follows its declared convention; `undefined` no finite true derivative and the backend says nan/inf; "
            "`unsupported` the backend lacks an op (or the point is outside what the method can do); `mismatch` "
            "anything else.", ""]
    out += ["## Tolerances", ""]
    out.append(tabulate([[b["name"], b["method"], fmt(b["rtol"]), b["floor"]] for b in meta["backends"]],
                        ["backend", "method", "rtol", "error measured against"], tablefmt="github"))
    out += ["", "The error of a component is |backend - oracle| / max(|oracle component|, S), where S is the "
            "largest finite |value| or |partial| of the oracle at that point (and at least 1 for finite "
            "differences, whose steps are sized at unit scale). No float method can beat the float program's "
            "own evaluation of f, so at each point a tolerance is raised to ten times the relative error of f "
            "computed in float64 (never past 1e-6; the record says so when this decided the verdict). A case "
            "may also multiply every tolerance by a stated factor.", ""]
    out += ["## Per primitive op", "", "Each cell: records that agree or follow a convention or are undefined, "
            "out of all, and the largest error among those that agree.", ""]
    rows = []
    for op, cells in summary["per_op"].items():
        rows.append([op] + [(f"{c[0]}/{c[1]} ({fmt(c[2])})" if (c := cells.get(b)) else "") for b in
                            summary["backends"]])
    out.append(tabulate(rows, ["op", *summary["backends"]], tablefmt="github"))
    out += ["", "## Unexpected mismatches", ""]
    out.append(_mismatch_table(summary["unexpected"]) if summary["unexpected"] else "None.")
    out += ["", "## Known limitations of the methods", "",
            "Mismatches a case declares in advance, with the reason; they do not fail the run.", ""]
    out.append(_mismatch_table(summary["known"]) if summary["known"] else "None.")
    out += ["", "## Conventions at kinks and domain edges", ""]
    out += _convention_tables(summary)
    if summary["mlp"]:
        out += ["", "## Networks: per-parameter gradients", "",
                "The same MLP (fixed weights from autodiff.MLP's seeded initialisation, fixed batch, MSE loss) "
                "as one function of all its parameters, through every backend.", ""]
        rows = []
        for case, cells in summary["mlp"].items():
            for b, c in cells.items():
                rows.append([case, b, c["params"], f"{c['agree']}/{c['points']}", fmt(c["max_rel_err"])])
        out.append(tabulate(rows, ["network", "backend", "parameters", "points agreeing",
                                   "largest error over all parameters"], tablefmt="github"))
    out += ["", "## Versions", ""]
    out.append(tabulate(sorted(meta["versions"].items()), ["package", "version"], tablefmt="github"))
    return "\n".join(out) + "\n"


def _mismatch_table(records: list[dict]) -> str:
    rows = [[r["case"], _point(r["point"]), r["backend"], _grads(r["grad"]), _grads(r["oracle_grad"]),
             fmt(r["max_rel_err"]), r["note"] or r["message"]] for r in records]
    return tabulate(rows, ["case", "point", "backend", "gradient", "oracle", "error", "why"], tablefmt="github")


def _convention_tables(summary: dict) -> list[str]:
    out = ["Declared per op in `reference/conventions.py`: what mathematics says, and what each backend returns "
           "there and why. `any` marks a method whose number has no meaning at that point.", ""]
    for c in CONVENTIONS.values():
        out.append(f"### {c.op} at {c.where}")
        out += ["", c.truth, ""]
        names = list(dict.fromkeys([*c.expected, *c.why]))
        rows = [[b, ", ".join(fmt(v) if v is not ANY else "any" for v in c.expected[b]) if b in c.expected else "",
                 c.why.get(b, "")] for b in names]
        if rows:
            out.append(tabulate(rows, ["backend", "partials", "why"], tablefmt="github"))
            out.append("")
    seen = summary["conventions"]
    if seen:
        out += ["### Where the run met them", ""]
        rows = [[r["case"], _point(r["point"]), r["backend"], _grads(r["grad"]), _grads(r["oracle_grad"]), r["note"]]
                for r in seen]
        out.append(tabulate(rows, ["case", "point", "backend", "gradient", "oracle", "convention"],
                            tablefmt="github"))
    return out


def conformance_json(summary: dict, meta: dict, records: list[dict]) -> str:
    """Every record, with the summary counts and the run's metadata."""
    doc = {"meta": meta, "summary": {k: summary[k] for k in ("backends", "cases", "points", "records", "counts",
                                                             "max_rel_err_agree", "per_op", "mlp")},
           "unexpected_mismatches": len(summary["unexpected"]), "records": records}
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def _fmt_full(x) -> str:
    """Numbers in the check table: ten significant digits, enough to see where methods part."""
    return f"{x:.10g}" if isinstance(x, float) else fmt(x)


def check_table(result: dict) -> str:
    """``adcheck check`` as a table: value and partials per backend, and each error."""
    variables = list(result["point"])
    oracle = result["oracle"]
    oracle_grads = [_fmt_full(oracle["grad"].get(v, "")) for v in variables]
    rows = [["oracle", "", _fmt_full(oracle["value"]), *oracle_grads, "", ""]]
    for name, b in result["backends"].items():
        grads = [_fmt_full(b.get("grad", {}).get(v, "")) for v in variables]
        rows.append([name, b["verdict"], _fmt_full(b.get("value", "")), *grads, fmt(b.get("max_rel_err", "")),
                     b.get("note") or b.get("message", "")])
    head = ["backend", "verdict", "value", *[f"d/d{v}" for v in variables], "error", "note"]
    return (f"{result['expression']} at {_point(result['point'])}\n\n"
            + tabulate(rows, head, tablefmt="simple", disable_numparse=True)
            + f"\n\nverdict: {result['verdict']}\n")
