"""The conformance harness: cases x points x backends, judged against the oracle.

It yields flat records (plain dicts, one per case, point and backend); the report
renders them and computes nothing.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from .backends import ERROR, OK, UNSUPPORTED, Backend, OracleBackend, Result, make_backends
from .cases import Case, Point
from .conventions import ANY, CONVENTIONS

AGREE, MISMATCH, CONVENTION, UNDEFINED = "agree", "mismatch", "convention", "undefined"
VERDICTS = (AGREE, MISMATCH, CONVENTION, UNDEFINED, UNSUPPORTED)
DEFAULT_BUDGET = 60.0  # seconds of SymPy work per case

class CaseTimeout(BaseException):
    """SymPy ran past the per-case time budget (a BaseException, so SymPy cannot swallow it)."""


@contextmanager
def time_budget(seconds: float | None):
    """Interrupt the block after ``seconds`` (main thread with SIGALRM; otherwise no limit)."""
    usable = seconds and hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout(f"SymPy took longer than the {seconds:g} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _same_nonfinite(b: float, o: float) -> bool:
    return b == o or (math.isnan(b) and math.isnan(o))


def component_errors(result: Result, oracle: Result, backend: Backend, variables) -> list[tuple[str, float, str]]:
    """(name, error, kind) for the value and each partial; kind is ok / undefined / bad."""
    finite = [abs(x) for x in (oracle.value, *oracle.grad.values()) if math.isfinite(x)]
    scale = max([*finite, backend.error_floor])
    pairs = [("value", result.value, oracle.value)] + [(v, result.grad[v], oracle.grad[v]) for v in variables]
    out = []
    for name, b, o in pairs:
        if math.isfinite(b) and math.isfinite(o):
            out.append((name, abs(b - o) / max(abs(o), scale), "ok"))
        elif _same_nonfinite(b, o):
            out.append((name, 0.0, "ok" if not math.isnan(o) else "undefined"))
        elif not math.isfinite(o) and not math.isfinite(b):
            out.append((name, 0.0, "undefined"))
        else:
            out.append((name, math.inf, "bad"))
    return out


def _matches_convention(result: Result, expected: tuple, variables, rtol: float) -> bool:
    for v, e in zip(variables, expected):
        b = result.grad[v]
        if e is ANY:
            continue
        if not (_same_nonfinite(b, e) or (math.isfinite(b) and math.isfinite(e)
                                          and abs(b - e) <= rtol * max(1.0, abs(e)))):
            return False
    return True


# No float method can beat the float program's own evaluation of f: a tolerance is widened to
# ten times that error, but never past this cap, so that a wrong rule still stands out.
NOISE_FACTOR, NOISE_CAP = 10.0, 1e-6


def tolerance(backend: Backend, case: Case, noise: float = 0.0) -> float:
    """The backend's tolerance for this case, at least the float program's own error there."""
    return max(backend.rtol * case.tol, min(NOISE_FACTOR * noise, NOISE_CAP))


def float_noise(case: Case, point: Point, oracle: Result) -> float:
    """Relative error of f evaluated in plain float64 against the oracle's value (0 if not comparable)."""
    import numpy as np

    from .backends.finite_difference import REAL
    if oracle.status != OK or not math.isfinite(oracle.value) or oracle.value == 0:
        return 0.0
    try:
        with np.errstate(all="ignore"):
            value = float(case.fn(REAL, *[np.float64(x) for x in point.values]))
    except Exception:
        return 0.0
    return abs(value - oracle.value) / abs(oracle.value) if math.isfinite(value) else 0.0


def judge(result: Result, oracle: Result, backend: Backend, case: Case, point: Point,
          noise: float = 0.0) -> tuple[str, float, str]:
    """(verdict, largest error, note) of one backend's result."""
    if result.status == UNSUPPORTED:
        return UNSUPPORTED, math.nan, result.message
    if result.status == ERROR:
        return MISMATCH, math.inf, result.message
    if oracle.status != OK:
        return UNSUPPORTED, math.nan, f"no oracle: {oracle.message}"
    tol = tolerance(backend, case, noise)
    parts = component_errors(result, oracle, backend, case.variables)
    worst = max((e for _, e, _ in parts), default=0.0)
    bad = [(n, e) for n, e, kind in parts if kind == "bad" or e > tol]
    if not bad:
        widened = worst > backend.rtol * case.tol
        note = f"f itself evaluates with relative error {noise:.1e} in float64" if widened else ""
        return (UNDEFINED if any(kind == "undefined" for *_, kind in parts) else AGREE), worst, note
    value_ok = all(n != "value" for n, _ in bad)
    if not value_ok:
        return MISMATCH, worst, "off: " + ", ".join(n for n, _ in bad)
    edge = point.edge or case.edge_at(point.values)
    convention = CONVENTIONS.get(edge)
    if convention is not None:
        expected = convention.expected.get(backend.name)
        single_op = case.ops == {convention.op}
        if single_op and expected is not None and _matches_convention(result, expected, case.variables, tol):
            return CONVENTION, worst, convention.why.get(backend.name, "")
        if not point.edge and not single_op and all(not _finite(oracle.grad[n]) for n, _ in bad):
            # Inside a composite, an op on its edge can leave SymPy's formula undefined (0 * log 0)
            # where the function has a slope: the backend's number follows that op's convention.
            return CONVENTION, worst, (f"{convention.op} at {convention.where}: SymPy's formula is undefined "
                                       "here; the backend follows its convention (see the table)")
    if not point.edge and case.kink_at(point.values):
        why = _kink_convention(result, oracle, backend, case, point, tol)
        if why:
            return CONVENTION, worst, why
    return MISMATCH, worst, "off: " + ", ".join(n for n, _ in bad)


def _finite(x: float) -> bool:
    return math.isfinite(x)


def kink_values(backend_name: str) -> tuple[float, float] | None:
    """(relu'(0), abs'(0)) that a chain-rule backend uses, from the declared conventions."""
    relu, absolute = CONVENTIONS["relu@0"].expected, CONVENTIONS["abs@0"].expected
    if backend_name in _CHAIN_RULE_BACKENDS and backend_name in relu and backend_name in absolute:
        return relu[backend_name][0], absolute[backend_name][0]
    return None


_CHAIN_RULE_BACKENDS = ("engine", "torch", "sympy")


def _kink_convention(result: Result, oracle: Result, backend: Backend, case: Case, point: Point,
                     tol: float) -> str:
    """Why a disagreement at a relu/abs kink is this backend's convention ('' if it is not)."""
    if backend.name.startswith("fd-"):
        return "no derivative at a kink: a difference quotient returns a one-sided or averaged slope"
    values = kink_values(backend.name)
    if values is None:
        return ""
    from .backends import DERIVATIONS
    derivation = DERIVATIONS.get(case).with_kink_values(*values)
    _, *grad = derivation.exact(point.values)
    at_kink = Result("oracle", OK, oracle.value, dict(zip(case.variables, grad)))
    if all(kind != "bad" and e <= tol for _, e, kind in component_errors(result, at_kink, backend, case.variables)):
        return f"the chain rule through relu'(0) = {values[0]:g} and abs'(0) = {values[1]:g}"
    return ""


def _number(x: float):
    """JSON-safe number: non-finite values as strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def record(case: Case, point: Point, backend: Backend, result: Result, oracle: Result, noise: float = 0.0) -> dict:
    """One flat, JSON-ready record."""
    verdict, worst, note = judge(result, oracle, backend, case, point, noise)
    known = point.known.get(backend.name, "") if verdict == MISMATCH else ""
    return {
        "case": case.name,
        "point": {v: _number(x) for v, x in zip(case.variables, point.values)},
        "edge": point.edge,
        "tags": sorted(case.all_tags),
        "backend": backend.name,
        "status": result.status,
        "verdict": verdict,
        "expected": bool(known),
        "note": known or note,
        "value": _number(result.value),
        "grad": {v: _number(g) for v, g in result.grad.items()},
        "oracle_value": _number(oracle.value),
        "oracle_grad": {v: _number(g) for v, g in oracle.grad.items()},
        "max_rel_err": _number(worst),
        "tolerance": tolerance(backend, case, noise),
        "estimate": {v: _number(e) for v, e in (result.error_estimate or {}).items()},
        "message": result.message if result.status != OK else "",
    }


def run_case(case: Case, backends: list[Backend], budget: float | None = DEFAULT_BUDGET) -> list[dict]:
    """Every point of one case through every backend; SymPy's share is cut by ``budget``."""
    oracle_backend = OracleBackend()
    symbolic = {"sympy"}
    oracles: list[Result] = []
    sympy_results: dict[int, Result] = {}
    try:
        with time_budget(budget):
            for i, point in enumerate(case.points):
                oracles.append(oracle_backend.evaluate(case, point.values))
                for b in backends:
                    if b.name in symbolic:
                        sympy_results[i] = b.evaluate(case, point.values)
    except CaseTimeout as err:
        timeout = Result("oracle", ERROR, message=f"timeout: {err}")
        oracles += [timeout] * (len(case.points) - len(oracles))
        for i in range(len(case.points)):
            sympy_results.setdefault(i, Result("sympy", ERROR, message=f"timeout: {err}"))
    records = []
    for i, point in enumerate(case.points):
        noise = float_noise(case, point, oracles[i])
        for b in backends:
            result = sympy_results[i] if b.name in symbolic else b.evaluate(case, point.values)
            records.append(record(case, point, b, result, oracles[i], noise))
    return records


# -- running many cases, possibly in worker processes ---------------------------------------
_WORKER: dict = {}


def _init_worker(backend_names, engine, budget) -> None:
    _WORKER.update(backends=make_backends(backend_names, engine), budget=budget)


def _run_named(name: str) -> list[dict]:
    from .cases import by_name
    return run_case(by_name(name), _WORKER["backends"], _WORKER["budget"])


def run(cases: Iterable[Case], backend_names=None, engine: str | None = None, workers: int = 1,
        budget: float | None = DEFAULT_BUDGET, progress: Callable[[int, int, str], None] | None = None
        ) -> Iterator[list[dict]]:
    """Records of each case, in the order of ``cases`` whatever ``workers`` is."""
    from .backends import DEFAULT_BACKENDS
    names = tuple(backend_names or DEFAULT_BACKENDS)
    cases = list(cases)
    if workers <= 1:
        backends = make_backends(names, engine)
        for i, case in enumerate(cases):
            yield run_case(case, backends, budget)
            if progress:
                progress(i + 1, len(cases), case.name)
        return
    make_backends(names, engine)  # fail fast, in this process, on bad names
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(names, engine, budget)) as pool:
        for i, records in enumerate(pool.map(_run_named, [c.name for c in cases])):
            yield records
            if progress:
                progress(i + 1, len(cases), cases[i].name)


def terminal_progress(stream=None) -> Callable[[int, int, str], None] | None:
    """A one-line progress bar on a terminal; None (quiet) when the stream is not one."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(done: int, total: int, name: str) -> None:
        width = 30
        filled = width * done // total
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:<40}")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


# -- summaries of records (the report renders these; it computes nothing itself) -------------
def _err(x) -> float:
    return x if isinstance(x, float) else (math.inf if x in ("inf", "nan") else float(x))


def summarize(records: list[dict]) -> dict:
    """Counts and extremes over flat records: what the report's tables show."""
    backends = list(dict.fromkeys(r["backend"] for r in records))
    counts = {b: {v: 0 for v in VERDICTS} for b in backends}
    worst_agree = {b: 0.0 for b in backends}
    per_op: dict[str, dict[str, list]] = {}
    mlp: dict[str, dict[str, dict]] = {}
    for r in records:
        b, verdict = r["backend"], r["verdict"]
        counts[b][verdict] += 1
        err = _err(r["max_rel_err"])
        if verdict == AGREE:
            worst_agree[b] = max(worst_agree[b], err)
        if "primitive" in r["tags"]:
            for tag in r["tags"]:
                if tag.startswith("op:"):
                    cell = per_op.setdefault(tag[3:], {}).setdefault(b, [0, 0, 0.0])
                    cell[0] += verdict in (AGREE, CONVENTION, UNDEFINED)
                    cell[1] += 1
                    if verdict == AGREE:
                        cell[2] = max(cell[2], err)
        if "mlp" in r["tags"]:
            cell = mlp.setdefault(r["case"], {}).setdefault(b, {"params": len(r["point"]), "points": 0,
                                                                "agree": 0, "max_rel_err": 0.0})
            cell["points"] += 1
            cell["agree"] += verdict == AGREE
            if r["status"] == OK:
                cell["max_rel_err"] = max(cell["max_rel_err"], err)
    mismatches = [r for r in records if r["verdict"] == MISMATCH]
    return {
        "backends": backends,
        "cases": len(dict.fromkeys(r["case"] for r in records)),
        "points": len({(r["case"], tuple(map(str, r["point"].values()))) for r in records}),
        "records": len(records),
        "counts": counts,
        "max_rel_err_agree": worst_agree,
        "per_op": {op: per_op[op] for op in sorted(per_op)},
        "mlp": mlp,
        "unexpected": [r for r in mismatches if not r["expected"]],
        "known": [r for r in mismatches if r["expected"]],
        "conventions": [r for r in records if r["verdict"] == CONVENTION],
    }


def overall_verdict(records: list[dict]) -> str:
    """One word for a set of records: the most serious verdict among them."""
    verdicts = {r["verdict"] for r in records}
    if any(r["verdict"] == MISMATCH and not r["expected"] for r in records):
        return MISMATCH
    for v in (CONVENTION, UNDEFINED, AGREE):
        if v in verdicts:
            return v
    return UNSUPPORTED


def describe_backends(backends: list[Backend]) -> list[dict]:
    """Name, method, tolerance and error scale of each backend, for the report."""
    return [{"name": b.name, "method": b.method + (f" ({b.label})" if getattr(b, "label", "") else ""),
             "rtol": b.rtol, "floor": "max(|oracle|, S, 1)" if b.error_floor >= 1 else "max(|oracle|, S)"}
            for b in backends]
