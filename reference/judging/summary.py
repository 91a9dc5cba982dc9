"""Summaries of flat records: what the report's tables show and what the exit status rests on.

The subject (the engine under test) and the references are kept apart: the subject's
unexpected failures (a wrong number, a raise at an ordinary point, a crash, a timeout, a
record that could not be judged) fail a run; a reference method being off is a finding.
"""
from __future__ import annotations

import math

from reference.judging.judge import (
    AGREE,
    CONVENTION,
    ERROR,
    MISMATCH,
    RAISES,
    UNDEFINED,
    UNJUDGED,
    UNSUPPORTED,
    VERDICTS,
    describe_tolerance,
)
from reference.judging.second_order import mixed_pair_differs

RAN = (AGREE, MISMATCH, CONVENTION, UNDEFINED, RAISES)  # the backend produced an answer that was judged


def _err(x) -> float:
    if isinstance(x, (int, float)):
        return float(x)
    return math.inf if x in ("inf", "nan", "-inf") else float(x)


def is_subject_failure(r: dict) -> bool:
    """A record that fails a run: the subject wrong, crashed, timed out, raised at an ordinary point, or unjudged."""
    return bool(r.get("subject")) and (r["verdict"] == UNJUDGED or (r["verdict"] == MISMATCH and not r["expected"]))


def is_reference_finding(r: dict) -> bool:
    """A reference method off (or failing itself) where nothing declared it: reported, not failing."""
    return not r.get("subject") and r["verdict"] in (MISMATCH, ERROR, UNJUDGED) and not r["expected"]


def coverage(records: list[dict]) -> dict:
    """Cases and records the subject really ran (judged with an answer), of the total."""
    mine = [r for r in records if r.get("subject")]
    cases = list(dict.fromkeys(r["case"] for r in mine))
    ran_cases = {r["case"] for r in mine if r["verdict"] in RAN}
    full = {c for c in cases if all(r["verdict"] in RAN for r in mine if r["case"] == c)}
    return {"cases": len(cases), "cases_run": len(ran_cases), "cases_fully_run": len(full),
            "records": len(mine), "records_run": sum(r["verdict"] in RAN for r in mine),
            "unsupported": sum(r["verdict"] == UNSUPPORTED for r in mine),
            "unjudged": sum(r["verdict"] == UNJUDGED for r in mine)}


def tolerance_used(r: dict) -> float:
    """The largest share of its tolerance any component of a record used (0 exact, 1 at the limit)."""
    errors, tols = r.get("errors") or {}, r.get("tolerances") or {}
    shares = []
    for name, e in errors.items():
        e, t = _err(e), _err(tols.get(name, 0.0))
        if e == 0:
            shares.append(0.0)
        elif math.isfinite(e) and t > 0:
            shares.append(e / t)
    return max(shares, default=0.0)


def op_grid(records: list[dict]) -> dict[str, dict[str, dict]]:
    """Per op and backend (first order): records, as expected, failed, unsupported, and the largest share
    of its tolerance an agreeing record used; the picture and the per-op table read it."""
    grid: dict[str, dict[str, dict]] = {}
    for r in records:
        if r.get("order", 1) == 2:
            continue
        ops = [t[3:] for t in r["tags"] if t.startswith("op:")] if "primitive" in r["tags"] else []
        rows = ops or (["networks"] if "mlp" in r["tags"] else ["composites"])
        for op in rows:
            cell = grid.setdefault(op, {}).setdefault(r["backend"], {"records": 0, "expected": 0, "failed": 0,
                                                                     "unsupported": 0, "used": 0.0})
            v = r["verdict"]
            cell["records"] += 1
            cell["expected"] += v in (AGREE, CONVENTION, UNDEFINED, RAISES) or bool(r["expected"])
            cell["failed"] += v in (MISMATCH, ERROR, UNJUDGED) and not r["expected"]
            cell["unsupported"] += v == UNSUPPORTED
            if v == AGREE:
                cell["used"] = max(cell["used"], tolerance_used(r))
    order = sorted(k for k in grid if k not in ("composites", "networks")) + [k for k in ("composites", "networks")
                                                                            if k in grid]
    return {k: grid[k] for k in order}


def summarize(records: list[dict]) -> dict:
    """Counts and extremes over flat records (second-order records apart, under ``second_order``)."""
    everything = records
    second = [r for r in records if r.get("order", 1) == 2]
    records = [r for r in records if r.get("order", 1) != 2]
    backends = list(dict.fromkeys(r["backend"] for r in records))
    counts = {b: {v: 0 for v in VERDICTS} for b in backends}
    worst_agree = {b: 0.0 for b in backends}
    per_op: dict[str, dict[str, list]] = {}
    mlp: dict[str, dict[str, dict]] = {}
    for r in records:
        b, verdict = r["backend"], r["verdict"]
        counts[b][verdict] = counts[b].get(verdict, 0) + 1
        err = _err(r["max_rel_err"])
        if verdict == AGREE and math.isfinite(err):
            worst_agree[b] = max(worst_agree[b], err)
        if "primitive" in r["tags"]:
            for tag in r["tags"]:
                if tag.startswith("op:"):
                    # [as expected, failed, unsupported, total, largest error among agree]
                    cell = per_op.setdefault(tag[3:], {}).setdefault(b, [0, 0, 0, 0, 0.0])
                    cell[0] += verdict in (AGREE, CONVENTION, UNDEFINED, RAISES) or bool(r["expected"])
                    cell[1] += verdict in (MISMATCH, ERROR, UNJUDGED) and not r["expected"]
                    cell[2] += verdict == UNSUPPORTED
                    cell[3] += 1
                    if verdict == AGREE and math.isfinite(err):
                        cell[4] = max(cell[4], err)
        if "mlp" in r["tags"]:
            cell = mlp.setdefault(r["case"], {}).setdefault(b, {"params": len(r["point"]), "points": 0,
                                                                "agree": 0, "unsupported": 0, "used": 0.0})
            cell["points"] += 1
            cell["agree"] += verdict == AGREE
            cell["unsupported"] += verdict == UNSUPPORTED
            if verdict == AGREE:
                cell["used"] = max(cell["used"], tolerance_used(r))
    mismatches = [r for r in records if r["verdict"] == MISMATCH]
    subject = [r for r in records if r.get("subject")]
    return {
        "second_order": summarize_second(second) if second else None,
        "backends": backends,
        "subject_backends": list(dict.fromkeys(r["backend"] for r in subject)),
        "cases": len(dict.fromkeys(r["case"] for r in records)),
        "points": len({(r["case"], tuple(map(repr, r["point"].values()))) for r in records}),
        "records": len(records),
        "counts": counts,
        "max_rel_err_agree": worst_agree,
        "per_op": {op: per_op[op] for op in sorted(per_op)},
        "grid": op_grid(records),
        "tolerance_used": {b: max((tolerance_used(r) for r in records if r["backend"] == b and r["verdict"] == AGREE),
                                  default=0.0) for b in backends},
        "mlp": mlp,
        # what the exit status rests on
        "subject_failures": [r for r in everything if is_subject_failure(r)],
        "subject_raises": [r for r in subject if r["verdict"] == RAISES],
        "coverage": coverage(records),
        "reference_findings": [r for r in records if is_reference_finding(r)],
        # kept for readers of the older summary
        "unexpected": [r for r in everything if is_subject_failure(r)],
        "known": [r for r in mismatches if r["expected"]],
        "conventions": [r for r in records if r["verdict"] == CONVENTION],
    }


def summarize_second(records: list[dict]) -> dict:
    """The second-order records: verdicts per backend, the largest error among agree, and every
    place where a backend and the oracle part (with the reason in each record's note)."""
    backends = list(dict.fromkeys(r["backend"] for r in records))
    counts = {b: {v: 0 for v in VERDICTS} for b in backends}
    worst = {b: 0.0 for b in backends}
    for r in records:
        counts[r["backend"]][r["verdict"]] += 1
        err = _err(r["max_rel_err"])
        if r["verdict"] == AGREE and math.isfinite(err):
            worst[r["backend"]] = max(worst[r["backend"]], err)
    # a difference scheme's two orders come from different stencils: only beyond its own tolerance
    asymmetric = [r for r in records if _asymmetric(r.get("hessian") or {},
                                                    1e-5 if r["backend"].startswith("fd-") else 1e-8)]
    return {
        "backends": backends,
        "cases": len(dict.fromkeys(r["case"] for r in records)),
        "records": len(records),
        "counts": counts,
        "max_rel_err_agree": worst,
        "subject_failures": [r for r in records if is_subject_failure(r)],
        "reference_findings": [r for r in records if is_reference_finding(r)],
        "known": [r for r in records if r["verdict"] == MISMATCH and r["expected"]],
        "conventions": [r for r in records if r["verdict"] == CONVENTION],
        "disagreements": [r for r in records if r["verdict"] in (MISMATCH, CONVENTION, ERROR, UNJUDGED)],
        "asymmetric": asymmetric,
    }


def _asymmetric(h: dict, rel: float = 1e-8) -> bool:
    names = list(h)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = h[a].get(b), h[b].get(a)
            if isinstance(x, float) and isinstance(y, float) and mixed_pair_differs(x, y, rel):
                return True
    return False


def exit_status(summary: dict, strict: bool = False) -> int:
    """0 the subject checked and right; 1 the subject wrong somewhere; 3 the subject not checked at all."""
    cov = summary["coverage"]
    if summary["subject_failures"] or (strict and summary["subject_raises"]):
        return 1
    if cov["records"] and not cov["records_run"]:
        return 3
    return 0


def overall_verdict(records: list[dict]) -> str:
    """One word for a set of records, decided by the subject's records (all records when none is the subject)."""
    mine = [r for r in records if r.get("subject")] or records
    if any(r["verdict"] == MISMATCH and not r["expected"] for r in mine):
        return MISMATCH
    if any(r["verdict"] == UNJUDGED for r in mine):
        return UNJUDGED
    verdicts = {r["verdict"] for r in mine}
    for v in (RAISES, CONVENTION, UNDEFINED, AGREE):
        if v in verdicts:
            return v
    return UNSUPPORTED


def describe_backends(backends) -> list[dict]:
    """Name, method, tolerance in words, and whether it is the subject, for the report."""
    return [{"name": b.name, "method": b.method + (f" ({b.label})" if getattr(b, "label", "") else ""),
             "rtol": b.rtol, "subject": bool(getattr(b, "subject", False)), "tolerance": describe_tolerance(b)}
            for b in backends]
