"""Judging one backend's answer at one point against the oracle: the verdict and why, in one sentence.

Each value and each partial is judged on its own: ``|b - o| <= tol`` with

    tol = atol + rtol * |o| + FLOAT_FACTOR * e

- ``rtol`` is the backend's method tolerance (times the case's stated factor);
- ``atol`` is stated per method: 0 for AD and exact methods; for finite differences
  ``rtol * max(1, |f|, F/eps)``, their absolute floor (a difference quotient's round-off is
  the function's own rounding divided by a step sized at unit scale);
- ``e`` is that component's own float64 error at this point: a first-order error analysis over
  the expression's graph (each node's value rounded by one ulp, carried through the forward
  pass, then through every local partial and every product and sum of the reverse pass). It
  is what float64 itself cannot do better than with the chain rule (``1 - tanh(x)**2`` at x = 8,
  ``tanh'(20)``); it never comes from the value's error or from the largest component.

Where the point sits on an op's declared edge (a kink, a pole, a flat spot, a domain edge),
the backend's number must equal what the chain rule gives with that op's declared convention
(``CONVENTIONS[key].expected[backend]``; at a kink any valid subgradient, and the record says which).
nan against a nan oracle is ``undefined`` only where no convention is declared for the backend.

One pipeline for every order: ``judge(..., order=2)`` judges a Hessian entry by entry (``H[x][y]``,
named "x,y") the same way, with what is genuinely second order in ``reference.judging.second_order``:
each entry's float64 error (computed only where an entry fails without it, a graph per row), the
declared second-order conventions at edges, and a note on asymmetric mixed partials.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from reference.backends.base import ERROR, OK, UNSUPPORTED, Backend, Result, is_finite_difference
from reference.core.errors import NoOracle
from reference.core.formatting import fmt
from reference.corpus.cases import Case, Point
from reference.corpus.conventions import ANY, CONVENTIONS, SECOND
from reference.judging.point_graph import EPS, FLOAT_FACTOR, PointGraph, finite, same_nonfinite
from reference.judging.second_order import KNOWN, asymmetry, entries, exact_hessian_with, hessian_float_errors
from reference.oracle.store import exact_with_conventions as exact

__all__ = ["AGREE", "CONVENTION", "EPS", "FLOAT_FACTOR", "MISMATCH", "RAISES", "SUBJECT_FAILURES", "UNDEFINED",
           "UNJUDGED", "VERDICTS", "Judgement", "PointGraph", "Tolerance", "compare", "describe_tolerance", "judge",
           "known_limitation", "record_identity", "tolerance"]

AGREE, MISMATCH, CONVENTION, UNDEFINED = "agree", "mismatch", "convention", "undefined"
RAISES, UNJUDGED = "raises", "unjudged"
VERDICTS = (AGREE, MISMATCH, CONVENTION, UNDEFINED, UNSUPPORTED, RAISES, UNJUDGED, ERROR)
# Verdicts that fail a run when the subject (the engine under test) gets them.
SUBJECT_FAILURES = (MISMATCH, UNJUDGED)

# Exceptions that are Python's float semantics at a domain edge or an overflow point, where IEEE
# doubles give inf or nan (0**-1, math domain error, complex results of negative bases).
EDGE_EXCEPTIONS = ("ZeroDivisionError", "OverflowError", "ValueError", "TypeError", "FloatingPointError",
                   "AssertionError", "ComplexResult")  # a learner's `assert x > 0` in log, at the domain's edge
# Python raises OverflowError only where IEEE doubles give inf (exp(800) inside a naive sigmoid):
# float semantics wherever it happens, never a derivative bug.
ALWAYS_FLOAT_SEMANTICS = ("OverflowError",)


def exact_with_conventions(case: Case, point: Point, overrides: dict[str, tuple], graph: PointGraph):
    """[value, *partials] with each edge node's local partials replaced by a declared convention.

    The exact chain rule (``reference.oracle.store.exact_with_conventions``); where it has no certain
    answer, this engine's float chain rule over the case's own graph (whose error the comparison's
    allowance already carries).
    """
    try:
        value, grad = exact(case, point.values, overrides)
    except NoOracle:
        return graph.chain(overrides)
    return [value, *grad]


# -- what differs between orders, as data ----------------------------------------------------------
@dataclass(frozen=True)
class _Wording:
    """How a judgement at one order words itself (kept as it always was, so the reports stay the same)."""

    truth: str  # what the answer is judged against
    derivative: str  # what has no finite true value at a nan/inf point
    number: Callable[[float], str]  # how a number in a note is written
    limit: int | None  # at most this many components named in a note (None: all)


WORDING = {
    1: _Wording("oracle", "derivative", lambda x: fmt(x, 17), None),
    2: _Wording("exact Hessian", "second derivative", lambda x: f"{x:.17g}", 4),
}


def _components(result: Result, case: Case, order: int) -> list[tuple[str, float]]:
    """(name, number) of what is judged: the value and each partial (order 1), each H[x][y] as "x,y" (order 2)."""
    if order == 1:
        return [("value", result.value)] + [(v, result.grad.get(v, math.nan)) for v in case.variables]
    return [(name, result.hessian[i][j]) for i, j, name in entries(case)]


# -- tolerances --------------------------------------------------------------------------------
@dataclass
class Tolerance:
    """How one backend is judged: a relative and an absolute part per component, stated.

    ``order`` keeps each order's way of measuring, as the reports have it: at order 2 the largest
    relative error is measured against the absolute floor too (``atol / rtol``), and an entry that is
    not finite where the truth is states no tolerance.
    """

    rtol: float
    atol: list[float]  # per component: value, then each partial (order 2: each Hessian entry)
    allowance: list[float]  # float64's own error, per component (already multiplied by FLOAT_FACTOR)
    order: int = 1

    def of(self, i: int, o: float) -> float:
        return self.atol[i] + self.rtol * abs(o) + self.allowance[i]

    def scale(self, i: int, o: float) -> float:
        """What an error is relative to, for the largest relative error."""
        floor = self.atol[i] / self.rtol if self.order == 2 and self.rtol else 0.0
        return max(abs(o), floor, self.allowance[i], 1e-300)

    def stated_for_a_miss(self, i: int, o: float) -> float:
        """The tolerance stated for a component that is not finite where the truth is (or the reverse)."""
        return self.of(i, o) if self.order == 1 and finite(o) else 0.0


def describe_tolerance(backend: Backend) -> str:
    """The tolerance of a method in words, for the report."""
    if is_finite_difference(backend):
        atol = "rtol * max(1, |f|, F/eps)"
    else:
        atol = "0"
    return f"|b - o| <= {atol} + {backend.rtol:g} * |o| + {FLOAT_FACTOR:g} * e"


def tolerance(backend: Backend, case: Case, oracle: Result, graph: PointGraph | None,
              user: tuple[float, float] | None = None, order: int = 1) -> Tolerance:
    n = len(case.variables) + 1 if order == 1 else len(case.variables) ** 2
    if user is not None:  # the caller's own rtol/atol, exactly as stated
        rtol, atol = user
        return Tolerance(rtol, [atol] * n, [0.0] * n, order)
    rtol = backend.method_at(order)[1] * case.tol
    if order == 2:
        # a difference quotient of the gradient: its round-off is the gradient's own, over a step at unit
        # scale; float64's own error of each entry is added only where an entry fails without it
        if is_finite_difference(backend):
            g = [oracle.grad.get(v, math.nan) for v in case.variables]
            atol = [rtol * max(1.0, abs(g[i]) if finite(g[i]) else 1.0) for i, _, _ in entries(case)]
        else:
            atol = [0.0] * n
        return Tolerance(rtol, atol, [0.0] * n, order)
    # a subject computing in float32 (numpy data) rounds its inputs and every result to float32:
    # its error is the same analysis with rounded inputs, scaled to its own unit roundoff
    precision = getattr(backend, "unit_roundoff", EPS / 2) / (EPS / 2)
    if graph is None:
        errors = [0.0] * n
    elif precision > 1:
        errors = [e * precision for e in graph.rounded_input_errors]
    else:
        errors = graph.float_errors
    if is_finite_difference(backend):
        f = abs(oracle.value) if finite(oracle.value) else 0.0
        scale = max(1.0, f, errors[0] / EPS)
        atol = [rtol * scale] * n
    else:
        atol = [0.0] * n
    return Tolerance(rtol, atol, [FLOAT_FACTOR * e for e in errors])


def _widen_by_entry_errors(tol: Tolerance, graph: PointGraph, case: Case, bad: list[str]) -> None:
    """Order 2: add float64's own error of each entry in the rows where an entry failed."""
    names = entries(case)
    rows = sorted({i for i, _, name in names if name in bad})
    by_row = hessian_float_errors(graph, rows)
    for k, (i, j, _) in enumerate(names):
        if i in by_row:
            tol.allowance[k] = FLOAT_FACTOR * by_row[i][j]


# -- the verdict -------------------------------------------------------------------------------
@dataclass
class Judgement:
    verdict: str
    note: str = ""
    errors: dict[str, float] = field(default_factory=dict)  # |b - o| per component
    tolerances: dict[str, float] = field(default_factory=dict)  # the bound per component
    worst: float = math.nan  # largest |b - o| / max(|o|, allowance) among finite components
    chosen: dict[str, float] = field(default_factory=dict)  # at a kink: the subgradient the backend chose


def compare(got: list[tuple[str, float]], expected: list[float], tol: Tolerance, any_mask=None
            ) -> tuple[list[str], list[str], dict, dict, float]:
    """(bad components, non-finite-but-both components, errors, tolerances, worst relative error)."""
    bad, nonfinite, errors, tols, worst = [], [], {}, {}, 0.0
    for i, ((name, b), o) in enumerate(zip(got, expected)):
        if any_mask and any_mask[i]:
            continue
        if finite(b) and finite(o):
            t = tol.of(i, o)
            errors[name], tols[name] = abs(b - o), t
            worst = max(worst, abs(b - o) / tol.scale(i, o))
            if not abs(b - o) <= t:
                bad.append(name)
        elif b == o:  # the same infinity: the correctly rounded double of an overflowing number
            errors[name], tols[name] = 0.0, 0.0
        elif not finite(b) and not finite(o):
            nonfinite.append(name)  # no finite truth and no finite answer (judged by the caller)
        else:
            errors[name], tols[name] = math.inf, tol.stated_for_a_miss(i, o)
            worst = math.inf
            bad.append(name)
    return bad, nonfinite, errors, tols, worst


def _listed(names: list[str], say: Callable[[str], str], wording: _Wording) -> str:
    """The components named in a note, at most ``wording.limit`` of them."""
    return ", ".join(say(n) for n in (names if wording.limit is None else names[:wording.limit]))


def _off(names: list[str], got, expected, wording: _Wording = WORDING[1]) -> str:
    by = dict(got)
    idx = {name: i for i, (name, _) in enumerate(got)}
    num = wording.number
    return "off: " + _listed(names, lambda n: f"{n} {num(by[n])} vs {num(expected[idx[n]])}", wording)


def judge(result: Result, oracle: Result, backend: Backend, case: Case, point: Point,
          graph: PointGraph | None = None, user: tuple[float, float] | None = None, order: int = 1) -> Judgement:
    """The verdict of one backend's result at one point (``order=2``: its Hessian), with a one-sentence note."""
    wording = WORDING[order]
    subject = bool(getattr(backend, "subject", False))
    if result.status == UNSUPPORTED:
        return Judgement(UNSUPPORTED, result.message)
    if graph is None:
        graph = PointGraph(case, point.values)
    if result.status == ERROR:
        return _judge_error(result, oracle, subject, graph, point, order)
    if oracle.status != OK:
        return Judgement(UNJUDGED, f"not judged: no {wording.truth} ({oracle.message})")
    tol = tolerance(backend, case, oracle, graph, user, order)
    got = _components(result, case, order)
    truth = [o for _, o in _components(oracle, case, order)]
    bad, nonfinite, errors, tols, worst = compare(got, truth, tol)
    if bad and order == 2 and user is None:  # float64's own error of each entry, only where it is needed
        _widen_by_entry_errors(tol, graph, case, bad)
        bad, nonfinite, errors, tols, worst = compare(got, truth, tol)
    tail = asymmetry(result.hessian, case) if order == 2 else ""
    if not bad and not nonfinite:
        return Judgement(AGREE, _widened_note(errors, tols, tol, got, wording) + tail, errors, tols, worst)
    # An op on a declared edge: the backend's number must be what its convention gives there.
    edges = graph.edges
    if point.edge and point.edge not in {k for k, _ in edges}:
        edges = [*edges, (point.edge, None)]
    if edges:
        at_edges = _judge_at_edges if order == 1 else _judge_at_second_order_edges
        verdict = at_edges(result, got, truth, backend, case, point, graph, tol, edges)
        if verdict is not None:
            verdict.note += tail
            verdict.errors, verdict.tolerances, verdict.worst = errors, tols, worst
            return verdict
    if bad:
        more = (f" (and {len(bad) - wording.limit} more)" if wording.limit is not None and len(bad) > wording.limit
                else "")
        return Judgement(MISMATCH, _off(bad, got, truth, wording) + more + tail, errors, tols, worst)
    says = _listed(nonfinite, lambda n: f"{n} = {wording.number(dict(got)[n])}", wording)
    return Judgement(UNDEFINED, f"no finite true {wording.derivative} here, and the backend says {says}{tail}",
                     errors, tols, worst)


def _widened_note(errors, tols, tol: Tolerance, got, wording: _Wording) -> str:
    decided = [n for i, (n, _) in enumerate(got) if n in errors and tol.allowance[i] > 0
               and errors[n] > tols[n] - tol.allowance[i]]
    if decided:
        return ("float64 itself cannot do better here: " + _listed(decided, str, wording)
                + " judged against its own float error bound")
    return ""


def _judge_error(result: Result, oracle: Result, subject: bool, graph: PointGraph, point: Point,
                 order: int = 1) -> Judgement:
    what = result.message or result.kind or "error"
    if not subject:
        return Judgement(ERROR, f"the reference failed: {what}")
    if order == 2:  # a raise is a mismatch here: float semantics at an edge is judged by the order-1 record
        return Judgement(MISMATCH, f"raised {what} computing the Hessian")
    kind = result.kind or "raises"
    if kind in ("crash", "timeout"):
        return Judgement(MISMATCH, f"{kind}: {what}")
    ieee_edge = bool(point.edge or graph.edges or graph.nonfinite) or (
        oracle.status == OK and not all(finite(x) for x in (oracle.value, *oracle.grad.values())))
    exc = result.exception or what.split(":")[0]
    if exc in ALWAYS_FLOAT_SEMANTICS:
        return Judgement(RAISES, f"raised {what}: an intermediate result overflows, where IEEE doubles give inf")
    if ieee_edge and exc in EDGE_EXCEPTIONS:
        return Judgement(RAISES, f"raised {what} where IEEE doubles give inf or nan")
    where = "at an ordinary point" if not ieee_edge else "with an exception that is not float semantics"
    return Judgement(MISMATCH, f"raised {what} {where}")


def _kink_slopes(key: str, edge, params: tuple = ()) -> tuple | None:
    """Per input, the (low, high) interval of valid subgradients at this kink (with the node's params)."""
    if edge is not None and getattr(edge, "kind", "") == "kink":
        try:
            return edge.slopes(*params)
        except TypeError:
            return None
    return None


def _judge_at_edges(result, got, truth, backend, case, point, graph, tol, edges) -> Judgement | None:
    """CONVENTION if the backend matches the chain rule with its declared conventions; MISMATCH if a
    declared convention exists and it does not; None when no convention speaks for this backend."""
    declared: dict[str, tuple] = {}
    kinks: dict[str, tuple] = {}
    for key, edge in edges:
        conv = CONVENTIONS.get(key)
        params = graph.edge_params.get(key, ())
        expected = conv.expected_for(backend.name, params) if conv is not None else None
        if expected is not None:
            declared[key] = expected
        slopes = _kink_slopes(key, edge, params) if edge is not None else None
        if slopes is not None:
            kinks[key] = slopes
    if is_finite_difference(backend) and kinks and not declared:
        return Judgement(CONVENTION, "no derivative at a kink: a difference quotient returns a one-sided or "
                                     "averaged slope")
    names = [k for k in declared]
    candidates: list[tuple[dict, str]] = []
    if declared:
        candidates.append((declared, "the declared convention at " + ", ".join(names)))
    # At a kink any valid subgradient is a convention: try the interval's ends and middle.
    for key, slopes in kinks.items():
        if len(slopes) != 1:
            continue
        lo, hi = slopes[0]
        for s in dict.fromkeys((lo, hi, (lo + hi) / 2)):
            candidates.append(({**declared, key: (s,)}, f"{key.split('@')[0]}' = {s:g} at the kink "
                                                         f"(valid: [{lo:g}, {hi:g}])"))
    if not candidates:
        return _ieee_at_edge(got, truth, backend, tol, edges)
    for overrides, why in candidates:
        verdict = _try_convention(result, got, case, point, graph, tol, overrides, why, backend)
        if verdict is not None:
            return verdict
    # A subgradient strictly inside the interval: solve for it (the gradient is linear in one kink's slope).
    for key, slopes in kinks.items():
        solved = _solve_subgradient(got, case, point, graph, tol, declared, key, slopes, backend, result)
        if solved is not None:
            return solved
    expected = exact_with_conventions(case, point, _fill(declared, 0.0), graph) if declared else None
    detail = ""
    if expected is not None:
        bad, nonfinite, *_ = compare(got, expected, tol)
        bad += [n for n in nonfinite if not same_nonfinite(dict(got)[n], expected[_index(got, n)])]
        if bad:
            detail = "; " + _off(bad, got, expected).replace("off: ", "off from the convention: ", 1)
    where = ", ".join(k for k, _ in edges)
    what = "the declared convention" if declared else "any valid subgradient"
    return Judgement(MISMATCH, f"at {where}: not {what}{detail}")


def _ieee_at_edge(got, truth, backend, tol, edges) -> Judgement | None:
    """A subject with no declared convention at a pole, domain edge or flat spot, whose finite numbers
    are right and whose others are nan/inf: what the textbook formula gives in IEEE arithmetic there
    (0 * 0**-1 for x**0 at 0), the float32 twin of Python's ZeroDivisionError. Reported, not a bug."""
    kinds = {getattr(e, "kind", "") for _, e in edges}
    if not backend.subject or not kinds or not kinds <= {"pole", "domain", "flat"} or truth is None:
        return None
    bad, _, *_ = compare(got, truth, tol)
    values = dict(got)
    if not bad or any(finite(values[n]) for n in bad):  # a wrong finite number is never excused
        return None
    where = ", ".join(k for k, _ in edges)
    return Judgement(RAISES, f"at {where}: {', '.join(bad)} is nan/inf, as IEEE arithmetic makes the textbook "
                             "formula there (float semantics at a domain edge, not a derivative bug)")


def _index(got, name) -> int:
    return [g for g, _ in got].index(name)


def _fill(overrides: dict, v: float) -> dict:
    """Declared partials with ANY replaced by ``v`` (first order: a tuple per input; second order: rows of
    tuples, or a function of the node's inputs, kept as it is)."""
    def one(x):
        if isinstance(x, tuple):
            return tuple(v if y is ANY else y for y in x)
        return v if x is ANY else x
    return {k: rows if callable(rows) else tuple(one(x) for x in rows) for k, rows in overrides.items()}


def _try_convention(result, got, case, point, graph, tol, overrides, why, backend) -> Judgement | None:
    zero = exact_with_conventions(case, point, _fill(overrides, 0.0), graph)
    if zero is None:
        return None
    mask = None
    if any(p is ANY for ps in overrides.values() for p in ps):
        other = exact_with_conventions(case, point, _fill(overrides, 1.7), graph)
        if other is None:
            return None
        mask = [not (same_nonfinite(a, b) or a == b) for a, b in zip(zero, other)]
    bad, nonfinite, *_ = compare(got, zero, tol, mask)
    mismatched_nonfinite = [n for n in nonfinite if not same_nonfinite(dict(got)[n], zero[_index(got, n)])]
    if bad or mismatched_nonfinite:
        return None
    note = why
    conv_why = [CONVENTIONS[k].why.get(backend.name, "") for k in overrides if k in CONVENTIONS]
    conv_why = [w for w in conv_why if w]
    if conv_why and why.startswith("the declared"):
        note = f"{why}: {conv_why[0]}"
    if mask and any(mask):
        note += " (" + ", ".join(n for (n, _), m in zip(got, mask) if m) + " not judged: the method's number " \
                                                                           "has no meaning here)"
    chosen = {k: ps[0] for k, ps in overrides.items() if len(ps) == 1 and ps[0] is not ANY}
    return Judgement(CONVENTION, note, chosen=chosen)


def _solve_subgradient(got, case, point, graph, tol, declared, key, slopes, backend, result) -> Judgement | None:
    if len(slopes) != 1:
        return None
    lo, hi = slopes[0]
    g_lo = exact_with_conventions(case, point, _fill({**declared, key: (lo,)}, 0.0), graph)
    g_hi = exact_with_conventions(case, point, _fill({**declared, key: (hi,)}, 0.0), graph)
    if g_lo is None or g_hi is None:
        return None
    best = max(range(1, len(got)), key=lambda i: abs(g_hi[i] - g_lo[i]) if finite(g_hi[i] - g_lo[i]) else -1,
               default=None)
    if best is None or not finite(got[best][1]) or not finite(g_hi[best] - g_lo[best]) or g_hi[best] == g_lo[best]:
        return None
    s = lo + (got[best][1] - g_lo[best]) / (g_hi[best] - g_lo[best]) * (hi - lo)
    if not (lo <= s <= hi):
        return None
    return _try_convention(result, got, case, point, graph, tol, {**declared, key: (s,)},
                           f"{key.split('@')[0]}' = {s:g} at the kink (valid: [{lo:g}, {hi:g}])", backend)


def _judge_at_second_order_edges(result, got, truth, backend, case, point, graph, tol, edges) -> Judgement | None:
    """CONVENTION if the Hessian is the exact chain rule with the declared second-order (and first-order)
    conventions at the edge nodes; MISMATCH if one is declared and it is not; None when none is declared."""
    first, second, whys = {}, {}, []
    for key, _edge in edges:
        params = graph.edge_params.get(key, ())
        c1, c2 = CONVENTIONS.get(key), SECOND.get(key)
        e1 = c1.expected_for(backend.name, params) if c1 is not None else None
        e2 = c2.expected_for(backend.name, params) if c2 is not None else None
        if e2 is not None:
            second[key] = e2
            if e1 is not None:
                first[key] = e1
            if c2.why.get(backend.name):
                whys.append(c2.why[backend.name])
    if not second:
        return None
    f0 = _fill(first, 0.0)
    s0, s1 = _fill(second, 0.0), _fill(second, 1.7)
    expected = exact_hessian_with(case, point.values, f0, s0)
    if expected is None:
        return None
    names = entries(case)
    exp_flat = [expected[i][j] for i, j, _ in names]
    mask = None
    if s0 != s1:  # an entry that moves with ANY has no meaning here: not judged
        other = exact_hessian_with(case, point.values, f0, s1)
        if other is not None:
            oth = [other[i][j] for i, j, _ in names]
            mask = [not (same_nonfinite(a, b) or a == b) for a, b in zip(exp_flat, oth)]
    bad, nonfinite, *_ = compare(got, exp_flat, tol, mask)
    nonfinite = [n for n in nonfinite if not same_nonfinite(dict(got)[n], exp_flat[_index(got, n)])]
    if not bad and not nonfinite:
        why = "; ".join(whys) or "the declared second-order convention"
        return Judgement(CONVENTION, f"the declared second-order convention at {', '.join(second)}: {why}")
    off = _off(bad + nonfinite, got, exp_flat, WORDING[2]).removeprefix("off: ")
    return Judgement(MISMATCH, f"at {', '.join(k for k, _ in edges)}: not the declared second-order "
                               f"convention; off from it: {off}")


def known_limitation(case: Case, point: Point, backend: Backend, order: int = 1) -> str:
    """Why a reference method is known to be off here ('' if it is not known to be)."""
    if backend.subject:
        return ""
    if order == 1:
        return point.known.get(backend.name, "")
    known = KNOWN.get((case.name, tuple(point.values)), {}).get(backend.name, "")
    if not known and point.known.get(backend.name):  # the method's first-order limitation bites here too
        known = "as at first order: " + point.known[backend.name]
    return known


def record_identity(case: Case, point: Point, backend: Backend) -> dict:
    """The fields that say which case, point and backend a record (of either order) is about."""
    return {
        "case": case.name,
        "point": dict(zip(case.variables, point.values)),
        "edge": point.edge,
        "tags": sorted(case.all_tags),
        "backend": backend.name,
        "subject": bool(backend.subject),
    }
