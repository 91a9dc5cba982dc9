"""Renders records and their summary as Markdown and JSON; computes nothing."""
from __future__ import annotations

import json
import math
import platform
from pathlib import Path

from tabulate import tabulate

from autodiff import __version__ as engine
from reference.core.files import write_pair
from reference.core.formatting import fmt as number
from reference.corpus.conventions import ANY, CONVENTIONS, SECOND
from reference.judging.judge import VERDICTS
from reference.judging.second_order import describe_methods
from reference.output import wording


def versions() -> dict[str, str]:
    """Versions of what produced the numbers."""
    import mpmath
    import numpy
    import sympy
    import torch

    return {"python": platform.python_version(), "sympy": sympy.__version__, "mpmath": mpmath.__version__,
            "torch": torch.__version__, "numpy": numpy.__version__, "autodiff": engine}


def json_safe(x):
    """A copy of ``x`` with non-finite floats as the strings "nan", "inf", "-inf" (the JSON boundary)."""
    if isinstance(x, float):
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def dumps(doc, indent: int | None = 1) -> str:
    """JSON text of ``doc``; never fails on inf or nan."""
    return json.dumps(json_safe(doc), indent=indent, allow_nan=False)


def fmt(x) -> str:
    """A number as the report shows it (None, a declared 'any value', shows as 'any')."""
    return "any" if x is None else number(x)


def _cell(text, limit: int = 90) -> str:
    """One table cell on one line, cut to ``limit`` characters (keeps every line of the report short)."""
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _point(p: dict) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in list(p.items())[:4]) + (" ..." if len(p) > 4 else "")


def _grads(g: dict, limit: int = 3) -> str:
    return ", ".join(fmt(v) for v in list(g.values())[:limit]) + (" ..." if len(g) > limit else "")


def diagnosis_section(meta: dict, failures: list[dict] | None = None) -> list[str]:
    """The findings of the diagnosis (meta["diagnosis"]) in plain words (``wording.finding_lines``): the problems
    under "What is wrong", notes that are not problems (float32 precision, conventions) apart. With the subject's
    ``failures`` and no finding to explain them, the simplest failing cases take the findings' place."""
    diagnosis = meta.get("diagnosis") or []
    problems = [d for d in diagnosis if wording.is_problem(d)]
    notes = [d for d in diagnosis if not wording.is_problem(d)]
    hints = (meta.get("subject") or {}).get("hints") or []
    out = []
    unexplained = wording.unexplained(failures or [], diagnosis) if meta.get("subject") else []
    if problems or unexplained:
        out += ["## What is wrong, in plain words", ""]
        shared = wording.patterns(diagnosis)
        out += [f"- {line}" for line in shared]
        last = None
        for d in problems:
            key = (d.get("kind"), d.get("op"), wording.place(d.get("where")))
            if key == last:  # the other partial of the same op, at the same line: one more line under it
                also = wording.finding_lines(d, markdown=False, evidence=0, shared=bool(shared))[0]
                out.append(f"  - Also: {also.split(': ', 1)[1]}")
                continue
            out += wording.finding_lines(d, markdown=True, shared=bool(shared))
            last = key
        if unexplained:
            out += [f"- {unexplained[0]}"] + [f"  - {wording.prose(line)}" for line in unexplained[1:]]
        out.append("")
    if notes or hints:
        out += ["## Notes (not problems)", ""]
        out += [f"- {wording.prose(d.get('summary', ''))}" for d in notes]
        out += [f"- Hint: {wording.prose(h)}" for h in hints]
        out.append("")
    return out


def subject_section(meta: dict) -> list[str]:
    """What was tested (meta["subject"]): the class, its file, what it lacks and why, its coverage."""
    subject = meta.get("subject") or {}
    if not subject:
        return []
    where = f" from `{subject['file']}`" if subject.get("file") else ""
    out = ["## The subject", "", f"The class `{subject.get('class', '?')}`{where}."]
    lacks = subject.get("lacks") or {}
    if lacks:
        out += ["", "It lacks these ops (records that need them are `unsupported`, and count against coverage):", ""]
        out += [f"- `{op}`: {_cell(why, 160)}" for op, why in lacks.items()]
    lifted = subject.get("lifted") or {}
    if lifted:
        out += ["", "Forms it lacks, checked anyway by lifting the constant into a node:", ""]
        out += [f"- `{form}`: {_cell(why, 160)}" for form, why in lifted.items()]
    cov = subject.get("coverage") or {}
    if cov:
        probes = cov.get("probes") or {}
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cov.items() if k != "probes")
        if probes:
            text += f"; probes run {probes.get('ran', 0)} of {probes.get('total', 0)}"
        out += ["", f"Coverage: {text}."]
    return [*out, ""]


PICTURE = "conformance.svg"


def conformance_markdown(summary: dict, meta: dict) -> str:
    """The human-readable report: one screen of verdict, coverage, findings and a picture, then the details."""
    out = ["# Conformance report", ""]
    cov = summary.get("coverage", {})
    failures, raises, findings = summary["subject_failures"], summary["subject_raises"], summary["reference_findings"]
    engine = f"`{meta.get('engine', '?')}`"
    if failures:
        blamed = sorted({d["op"] for d in meta.get("diagnosis") or [] if d.get("op") and d.get("kind") not in
                         ("precision", "convention")})
        ops = sorted({t[3:] for r in failures for t in r["tags"] if t.startswith("op:")})
        where = (f": the diagnosis blames {', '.join(blamed)}" if blamed else
                 f", in cases using {', '.join(ops[:8])}" if ops else "")
        out.append(f"**Verdict: {len(failures)} failure(s) of the subject** ({engine}){where}. See *What is wrong* "
                   "and *Failures of the subject*.")
    elif meta.get("subject") and cov.get("records") and not cov.get("records_run"):
        out.append(f"**Verdict: the subject could not be checked** ({engine}): none of its {cov['records']} records "
                   "ran. See *Notes* and *The subject* for why.")
    else:
        out.append(f"**Verdict: no failure of the subject** ({engine}): every disagreement with the oracle is a "
                   "declared convention, an undefined point or a known limitation of a method.")
    out.append("")
    out += diagnosis_section(meta, failures)
    if cov.get("records"):
        out.append(f"- **Coverage:** the subject ran {cov['records_run']} of its {cov['records']} records "
                   f"({cov['cases_run']} of {cov['cases']} cases); {cov.get('unsupported', 0)} unsupported.")
    out.append(f"- **Findings:** {wording.counts_line(summary)}.")
    out.append(f"- **Corpus:** {summary['cases']} cases, {summary['points']} points, {summary['records']} records; "
               f"oracle: {_cell(meta.get('oracle', '?'), 110).rstrip('.')}.")
    out += ["", f"![Each backend on each op: worst share of its tolerance used, failures in red]({PICTURE})", "",
            "Each cell of the picture: records as expected of all, coloured by the largest share of its tolerance "
            "an agreeing record used;", "red: a failure, grey: the backend lacks the op. Composite expressions "
            "and networks are the last two rows.", ""]
    out += subject_section(meta)
    out += ["## Summary: backends x verdicts", ""]
    verdicts = [v for v in VERDICTS if any(summary["counts"][b].get(v) for b in summary["backends"])]
    rows = [[b + (" (subject)" if b in summary.get("subject_backends", []) else ""),
             *[summary["counts"][b].get(v, 0) for v in verdicts], fmt(summary["tolerance_used"][b])]
            for b in summary["backends"]]
    out.append(tabulate(rows, ["backend", *verdicts, "largest share of tolerance used (agree)"], tablefmt="github"))
    out += ["", "Verdicts: `agree` within the backend's tolerance; `convention` a kink or edge where the backend "
            "follows its declared convention (at a kink,", "any valid subgradient; the record says which); "
            "`undefined` no finite true derivative and the backend says nan/inf; `unsupported` the backend",
            "lacks an op; `raises` the subject raised where IEEE doubles give inf/nan; `unjudged` no oracle, so "
            "nothing was checked (a failure); `error`",
            "a reference backend failed itself; `mismatch` anything else.", ""]
    out += ["## Tolerances", ""]
    out.append(tabulate([[b["name"], _cell(b["method"], 70), b.get("tolerance", fmt(b["rtol"]))]
                         for b in meta["backends"]], ["backend", "method", "tolerance per component"],
                        tablefmt="github"))
    out += ["", "Each value and each partial is judged on its own: o is the oracle's component, b the backend's, and "
            "e that component's own float64 error at", "the point (a first-order error analysis over the "
            "expression's graph: every node's value rounded by one ulp and carried through the forward",
            "pass, each local partial and each product and sum of the chain rule). e is what float64 cannot do "
            "better than; it never comes from the", "value's error or from the largest component. Finite "
            "differences also have an absolute floor, rtol * max(1, |f|, F/eps), F the value's float error. A case",
            "may multiply every rtol by a stated factor.", ""]
    out += ["## Per primitive op", "", "Each cell: records as expected (agree, convention, undefined, raises) "
            "of all; then `NF`: N failed (wrong, or a reference failing itself) and `NU`: N unsupported (the "
            "backend lacks the op), apart.", ""]
    rows = []
    for op, cells in summary["per_op"].items():
        rows.append([op] + [_op_cell(c) if (c := cells.get(b)) else "" for b in summary["backends"]])
    out.append(tabulate(rows, ["op", *summary["backends"]], tablefmt="github"))
    out += ["", "## Failures of the subject", ""]
    first_failures = [r for r in failures if r.get("order", 1) != 2]
    out.append(_mismatch_table(first_failures) if first_failures else
               ("None at first order (see the second-order section)." if failures else "None."))
    out += ["", "## Raises at domain edges", "",
            "The subject raised a Python exception where IEEE doubles give inf or nan: float semantics, reported "
            "but not failing (unless strict).", ""]
    out.append(_mismatch_table(raises) if raises else "None.")
    out += ["", "## The references' findings", "",
            "A reference method off where nothing declared it, or failing itself: about the method, not the subject.",
            ""]
    out.append(_mismatch_table(findings) if findings else "None.")
    out += ["", "## Known limitations of the methods", "",
            "Mismatches a case declares in advance, with the reason; they do not fail the run.", ""]
    out.append(_mismatch_table(summary["known"]) if summary["known"] else "None.")
    out += ["", "## Conventions at kinks and domain edges", ""]
    if meta.get("subject"):
        out += ["The `engine` rows below are this project's engine. The subject checked here is held to any valid "
                "subgradient at a kink", "and, elsewhere on an edge, to IEEE results or a raise of Python's float "
                "semantics (see *Raises at domain edges*).", ""]
    out += _convention_tables(summary, bool(meta.get("subject")))
    if summary.get("second_order"):
        out += [""] + second_order_section(summary["second_order"])
    if summary["mlp"]:
        out += ["", "## Networks: per-parameter gradients", "",
                "The same MLP (fixed weights from autodiff.MLP's seeded initialisation, fixed batch, MSE loss) "
                "as one function of all its parameters, through every backend.", ""]
        rows = []
        for case, cells in summary["mlp"].items():
            for b, c in cells.items():
                agreeing = (f"{c['agree']}/{c['points']}" if c["unsupported"] < c["points"] else "unsupported")
                rows.append([case, b, c["params"], agreeing, fmt(c["used"]) if c["agree"] else ""])
        out.append(tabulate(rows, ["network", "backend", "parameters", "points agreeing",
                                   "largest share of tolerance used (all parameters)"], tablefmt="github"))
    out += ["", "## Versions", ""]
    out.append(tabulate(sorted(meta["versions"].items()), ["package", "version"], tablefmt="github"))
    return "\n".join(out) + "\n"


def _hess(h: dict, limit: int = 4) -> str:
    """A Hessian {x: {y: H}} as 'xy=.. ' entries (both orders of a mixed pair kept)."""
    items = [(f"{a}{b}", v) for a, row in h.items() for b, v in row.items()]
    text = " ".join(f"{k}={fmt(v)}" for k, v in items[:limit])
    return text + (f" (+{len(items) - limit})" if len(items) > limit else "")


def _hessian_table(records: list[dict]) -> str:
    rows = [[_cell(r["case"], 24), _cell(_point(r["point"]), 24), r["backend"], _cell(_hess(r["hessian"]), 40),
             _cell(_hess(r["oracle_hessian"]), 36), fmt(r["max_rel_err"]), _cell(r["note"] or r["message"], 54)]
            for r in records]
    return tabulate(rows, ["case", "point", "backend", "Hessian H[x][y] = d/dy(df/dx)", "oracle", "error", "why"],
                    tablefmt="github")


def second_order_section(s2: dict) -> list[str]:
    """The second-order section: methods, tolerances, verdicts, and every place a backend and the oracle part."""
    out = ["## Second order: Hessians", "",
           f"{s2['records']} records over {s2['cases']} cases: each backend's Hessian against the exact one, entry by "
           "entry, with both orders of every mixed partial kept (H[x][y] is d/dy of df/dx).", ""]
    out.append(tabulate([[m["name"], _cell(m["method"], 110), m["tolerance"]] for m in describe_methods()],
                        ["backend", "method at order 2", "tolerance per entry"], tablefmt="github"))
    out += ["", "e is the entry's own float64 error bound: the first-order error analysis run over the graph of the "
            "partial df/dx_i (the reverse pass written", "as a graph with the registry's true rules), computed only "
            "where an entry fails without it. Other finite-difference backends have no second-order method.", ""]
    verdicts = [v for v in VERDICTS if any(s2["counts"][b].get(v) for b in s2["backends"])]
    out.append(tabulate([[b, *[s2["counts"][b].get(v, 0) for v in verdicts], fmt(s2["max_rel_err_agree"][b])]
                         for b in s2["backends"]], ["backend", *verdicts, "largest error among agree"],
                        tablefmt="github"))
    out += ["", "### Failures of the subject at order 2", ""]
    out.append(_hessian_table(s2["subject_failures"]) if s2["subject_failures"] else "None.")
    out += ["", "### Known limitations of the methods at order 2", ""]
    out.append(_hessian_table(s2["known"]) if s2["known"] else "None.")
    out += ["", "### The references' findings at order 2", ""]
    out.append(_hessian_table(s2["reference_findings"]) if s2["reference_findings"] else "None.")
    out += ["", "### Asymmetric mixed partials", "",
            "Where a backend's d/dy(df/dx) and d/dx(df/dy) differ (the exact ones are equal wherever they exist).", ""]
    out.append(_hessian_table(s2["asymmetric"]) if s2["asymmetric"] else "None.")
    out += ["", "### Second-order conventions met", ""]
    out.append(_hessian_table(s2["conventions"]) if s2["conventions"] else "None.")
    out += ["", "Declared per edge in `reference/conventions.py` (`SECOND`), keyed like the first-order ones:", ""]
    rows = []
    for c in SECOND.values():
        for b in dict.fromkeys([*c.expected, *c.why]):
            e = c.expected.get(b)
            shown = "by the node's inputs" if callable(e) else (
                "; ".join(", ".join("any" if v is ANY else fmt(v) for v in row) for row in e) if e is not None else "")
            rows.append([c.key, b, shown, _cell(c.why.get(b, ""), 140)])
    out.append(tabulate(rows, ["edge", "backend", "local second partials", "why"], tablefmt="github"))
    return out


def _op_cell(c: list) -> str:
    ok, failed, unsupported, total = c[:4]
    parts = [f"{ok}/{total}"] + ([f"{failed}F"] if failed else []) + ([f"{unsupported}U"] if unsupported else [])
    return ", ".join(parts)


def _mismatch_table(records: list[dict]) -> str:
    rows = [[_cell(r["case"], 30), _cell(_point(r["point"]), 40), r["backend"], _cell(_grads(r["grad"]), 40),
             _cell(_grads(r["oracle_grad"]), 40), _cell(wording.record_error(r) or fmt(r["max_rel_err"]), 40),
             _cell(r["note"] or r["message"], 55)]
            for r in records]
    return tabulate(rows, ["case", "point", "backend", "gradient", "oracle", "error", "why"], tablefmt="github")


def _convention_tables(summary: dict, other_engine: bool = False) -> list[str]:
    out = ["Declared per op in `reference/conventions.py`: what mathematics says, and what each backend returns "
           "there and why. `any` marks a method", "whose number has no meaning at that point.", ""]
    for c in CONVENTIONS.values():
        out.append(f"### {c.op} at {c.where}")
        out += ["", c.truth, ""]
        names = list(dict.fromkeys([*c.expected, *c.why]))
        rows = [[b, ", ".join(fmt(v) if v is not ANY else "any" for v in c.expected[b]) if b in c.expected else "",
                 _cell(c.why.get(b, ""), 140)] for b in names]
        if rows:
            out.append(tabulate(rows, ["backend", "partials", "why"], tablefmt="github"))
            out.append("")
    seen = summary["conventions"]
    if seen:
        out += ["### Where the run met them", ""]
        rows = [[_cell(r["case"], 30), _cell(_point(r["point"]), 40), r["backend"], _cell(_grads(r["grad"]), 30),
                 _cell(wording.valid_set(r) or _grads(r["oracle_grad"]), 30),
                 _cell((other_engine and r.get("subject") and wording.subject_convention(r)) or r["note"], 100)]
                for r in seen]
        out.append(tabulate(rows, ["case", "point", "backend", "gradient", "oracle", "convention"],
                            tablefmt="github"))
    return out


def conformance_json(summary: dict, meta: dict, records: list[dict]) -> str:
    """Every record, with the summary counts and the run's metadata (non-finite numbers as strings)."""
    doc = {"meta": meta,
           "summary": {k: summary[k] for k in ("backends", "cases", "points", "records", "counts",
                                               "max_rel_err_agree", "per_op", "mlp", "coverage")},
           "unexpected_mismatches": len(summary["subject_failures"]),
           "subject_failures": len(summary["subject_failures"]),
           "subject_raises": len(summary["subject_raises"]),
           "reference_findings": len(summary["reference_findings"]),
           "records": records}
    s2 = summary.get("second_order")
    if s2:
        doc["second_order"] = {"methods": describe_methods(), "counts": s2["counts"],
                               "max_rel_err_agree": s2["max_rel_err_agree"], "records": s2["records"],
                               "subject_failures": len(s2["subject_failures"]),
                               "reference_findings": len(s2["reference_findings"])}
    for key in ("subject", "diagnosis"):
        if key in meta:
            doc[key] = meta[key]
    return dumps(doc) + "\n"


def write_report(out: Path, summary: dict, meta: dict, records: list[dict], pictures: dict | None = None) -> None:
    """conformance.md, its picture and conformance.json, replaced together (with ``pictures``, more SVG files
    by name: the subject's own graphs the findings refer to; older ones of an earlier run are removed)."""
    pictures = pictures or {}
    for old in Path(out).glob("finding-*.svg"):
        if old.name not in pictures:
            old.unlink(missing_ok=True)
    write_pair(Path(out), {"conformance.json": conformance_json(summary, meta, records),
                           PICTURE: grid_svg(summary), **pictures,
                           "conformance.md": conformance_markdown(summary, meta)})


# -- the picture: backends x ops, as plain SVG text (the same bytes on every machine) ---------------------
_BANDS = ((1e-4, "#1a9850", "under 1e-4"), (1e-2, "#91cf60", "under 1e-2"), (0.3, "#fee08b", "under 0.3"),
          (math.inf, "#fc8d59", "up to 1"))
_FAILED, _LACKING = "#d73027", "#d9d9d9"


def _cell_colour(c: dict) -> str:
    if c["failed"]:
        return _FAILED
    if c["unsupported"] == c["records"]:
        return _LACKING
    return next(colour for limit, colour, _ in _BANDS if c["used"] < limit)


def grid_svg(summary: dict) -> str:
    """Backends x ops, each cell coloured by the worst share of tolerance used (red: failed, grey: lacking)."""
    grid, backends = summary.get("grid") or {}, summary["backends"]
    w, h, left = 74, 18, 92
    # column labels slanted at 40 degrees from each column's centre: room above for the longest, and to the right
    # of the last column for its run (about 6.2 px a character at font-size 10)
    longest = 6.2 * max((len(b) for b in backends), default=0)
    cos, sin = 0.766, 0.643
    top = int(16 + longest * sin)
    width = int(max(left + w * len(backends) + 12, left + w * (len(backends) - 0.5) + longest * cos + 12, 520))
    height = top + h * len(grid) + 44
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="10">', f'<rect width="{width}" height="{height}" fill="white"/>']
    for j, b in enumerate(backends):
        x = left + j * w + w / 2
        out.append(f'<text x="{x:g}" y="{top - 6}" text-anchor="start" transform="rotate(-40 {x:g} {top - 6})">'
                   f'{b}</text>')
    for i, (op, cells) in enumerate(grid.items()):
        y = top + i * h
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{op}</text>')
        for j, b in enumerate(backends):
            c = cells.get(b)
            if c is None:
                continue
            label = f"{c['expected']}/{c['records']}"
            if c["failed"]:
                label += f" {c['failed']}F"
            elif c["unsupported"]:
                label = f"{c['unsupported']}U" if c["unsupported"] == c["records"] else label + f" {c['unsupported']}U"
            out.append(f'<rect x="{left + j * w}" y="{y}" width="{w - 2}" height="{h - 2}" fill="{_cell_colour(c)}"/>')
            out.append(f'<text x="{left + j * w + (w - 2) / 2:g}" y="{y + 12}" text-anchor="middle">{label}</text>')
    y = top + h * len(grid) + 14
    x = 8
    for colour, text in [*((colour, f"share of tolerance {text}") for _, colour, text in _BANDS),
                         (_FAILED, "failed"), (_LACKING, "lacks the op")]:
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y + 9}">{text}</text>')
        x += 30 + 6 * len(text)
        if x > width - 120:
            x, y = 8, y + 16
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _fmt_full(x) -> str:
    """Numbers in the check table: ten significant digits, enough to see where methods part."""
    return number(x, 10)


def check_table(result: dict) -> str:
    """``adcheck check`` as a table: value and partials per backend, and each error."""
    variables = list(result["point"])
    oracle = result["oracle"]
    valid = wording.kink_valid_sets(result["expression"], result["point"])  # at a kink: the valid set, not one slope
    oracle_grads = [valid.get(v) or _fmt_full(oracle["grad"].get(v, "")) for v in variables]
    rows = [["oracle", "", _fmt_full(oracle["value"]), *oracle_grads, "", ""]]
    for name, b in result["backends"].items():
        grads = [_fmt_full(b.get("grad", {}).get(v, "")) for v in variables]
        error = fmt(b.get("max_rel_err", ""))
        if b.get("verdict") == "mismatch" and b.get("status") == "ok":  # yours against the true value, in words
            error = wording.record_error({"status": "ok", "value": b.get("value"), "grad": b.get("grad") or {},
                                          "oracle_value": oracle["value"], "oracle_grad": oracle["grad"]}) or error
        rows.append([name, b["verdict"], _fmt_full(b.get("value", "")), *grads, error,
                     b.get("note") or b.get("message", "")])
    head = ["backend", "verdict", "value", *[f"d/d{v}" for v in variables], "error", "note"]
    return (f"{result['expression']} at {_point(result['point'])}\n\n"
            + tabulate(rows, head, tablefmt="simple", disable_numparse=True)
            + f"\n\nverdict: {result['verdict']}"
            + (f" ({result['verdict_note']})" if result.get("verdict_note") else "") + "\n")
