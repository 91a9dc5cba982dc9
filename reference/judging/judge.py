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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from autodiff import Value
from autodiff.graph import topological
from autodiff.rules import FLOAT, RULES

from reference.backends.base import ERROR, OK, UNSUPPORTED, Backend, Result
from reference.corpus.cases import Case, Point
from reference.corpus.conventions import ANY, CONVENTIONS
from reference.core.formatting import fmt
from reference.core.errors import NoOracle
from reference.oracle.store import exact_with_conventions as exact

AGREE, MISMATCH, CONVENTION, UNDEFINED = "agree", "mismatch", "convention", "undefined"
RAISES, UNJUDGED = "raises", "unjudged"
VERDICTS = (AGREE, MISMATCH, CONVENTION, UNDEFINED, UNSUPPORTED, RAISES, UNJUDGED, ERROR)
# Verdicts that fail a run when the subject (the engine under test) gets them.
SUBJECT_FAILURES = (MISMATCH, UNJUDGED)

EPS = 2.0 ** -52
FLOAT_FACTOR = 8.0  # the allowance is this many times the first-order float64 error bound
# Exceptions that are Python's float semantics at a domain edge or an overflow point, where IEEE
# doubles give inf or nan (0**-1, math domain error, complex results of negative bases).
EDGE_EXCEPTIONS = ("ZeroDivisionError", "OverflowError", "ValueError", "TypeError", "FloatingPointError",
                   "AssertionError", "ComplexResult")  # a learner's `assert x > 0` in log, at the domain's edge
# Python raises OverflowError only where IEEE doubles give inf (exp(800) inside a naive sigmoid):
# float semantics wherever it happens, never a derivative bug.
ALWAYS_FLOAT_SEMANTICS = ("OverflowError",)

_TRUE_RULES = dict(RULES)  # the registry as imported: planted rules (override) never widen a tolerance


def _rule_of(node):
    return _TRUE_RULES.get(node.op) or node.rule


class _GraphMath:
    """The math namespace that builds this project's engine graph of a case (any op of the registry)."""

    def __getattr__(self, name):
        def call(x, *rest):
            return getattr(x if isinstance(x, Value) else Value(x), name)(*rest)
        return call


GRAPH_MATH = _GraphMath()


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _same_nonfinite(b: float, o: float) -> bool:
    return b == o or (math.isnan(b) and math.isnan(o))


class PointGraph:
    """This project's engine graph of a case at a point (true rules): float errors, edges, chain rule."""

    def __init__(self, case: Case, values: tuple[float, ...]) -> None:
        self.case, self.values = case, tuple(values)
        self.leaves = [Value(x) for x in values]
        try:
            out = case.fn(GRAPH_MATH, *self.leaves)
        except Exception:  # a case this engine cannot build has no graph: no widening, no edges
            out = None
        self._index(out)

    @classmethod
    def from_output(cls, case: Case, values: tuple[float, ...], leaves: list[Value], out) -> PointGraph:
        """The same analysis over a graph already built (e.g. a partial df/dx_i written as a graph)."""
        self = cls.__new__(cls)
        self.case, self.values, self.leaves = case, tuple(values), list(leaves)
        self._index(out)
        return self

    def _index(self, out) -> None:
        self.out = out if isinstance(out, Value) else None
        self.nodes = topological(self.out) if self.out is not None else []
        self.partials: dict[int, list[float]] = {}
        for n in self.nodes:
            rule = _rule_of(n)
            if rule is None:
                continue
            args = (*[c.data for c in n.children], *n.args)
            ps = []
            for k in range(len(n.children)):
                try:
                    ps.append(float(rule.partial(k, FLOAT, n.data, *args)))
                except Exception:
                    ps.append(math.nan)
            self.partials[id(n)] = ps

    # -- where the point sits ----------------------------------------------------------------
    @cached_property
    def edges(self) -> list[tuple[str, object]]:
        """(convention key, registry Edge or None) of every op on an edge here, first seen first."""
        found: dict[str, object] = {}
        self.edge_params: dict[str, tuple] = {}
        for n in self.nodes:
            rule = _rule_of(n)
            if rule is None:
                continue
            args = (*[c.data for c in n.children], *n.args)
            edge = rule.edge_at(*args) if hasattr(rule, "edge_at") else None
            if edge is not None:
                found.setdefault(edge.key, edge)
                self.edge_params.setdefault(edge.key, tuple(n.args))
        return list(found.items())

    @cached_property
    def nonfinite(self) -> bool:
        """Whether IEEE doubles give inf or nan somewhere in this graph (a value or a local partial)."""
        return any(not math.isfinite(n.data) for n in self.nodes) or any(
            not math.isfinite(p) for ps in self.partials.values() for p in ps)

    # -- float64's own error at this point ---------------------------------------------------
    @cached_property
    def float_errors(self) -> list[float]:
        """First-order bound of float64's error on the value and each partial (0 where it is not finite)."""
        return self.errors(rounded_inputs=False)

    @cached_property
    def rounded_input_errors(self) -> list[float]:
        """The same bound (in units of float64's epsilon) when the inputs themselves are rounded, as a
        float32 engine rounds them: scaled by the subject's unit roundoff, it is that engine's error."""
        return self.errors(rounded_inputs=True)

    def errors(self, rounded_inputs: bool) -> list[float]:
        n_vars = len(self.values)
        if self.out is None:
            return [0.0] * (n_vars + 1)
        fwd: dict[int, float] = {}
        for n in self.nodes:
            ps = self.partials.get(id(n))
            if ps is None:
                # leaves and constants are exact doubles, unless the subject rounds them
                fwd[id(n)] = EPS * abs(n.data) if rounded_inputs and math.isfinite(n.data) else 0.0
                continue
            fwd[id(n)] = sum(abs(p) * fwd[id(c)] for p, c in zip(ps, n.children)) + EPS * abs(n.data)
        adj = {id(self.out): 1.0}
        err = {id(self.out): 0.0}
        for n in reversed(self.nodes):
            ps = self.partials.get(id(n))
            if ps is None or id(n) not in adj:
                continue
            a, e = adj[id(n)], err[id(n)]
            rule = _rule_of(n)
            for k, (p, c) in enumerate(zip(ps, n.children)):
                d = self._partial_sensitivity(rule, n, k, p, fwd)
                adj[id(c)] = adj.get(id(c), 0.0) + a * abs(p)
                err[id(c)] = err.get(id(c), 0.0) + e * abs(p) + a * d + 2 * EPS * a * abs(p)
        value_err = fwd[id(self.out)]
        out = [value_err] + [err.get(id(leaf), 0.0) for leaf in self.leaves]
        return [x if math.isfinite(x) else 0.0 for x in out]

    def _partial_sensitivity(self, rule, node, k, p, fwd) -> float:
        """How much the local partial moves when its inputs and output carry their float errors."""
        if rule is None or rule.partials[k].__class__ is float:
            return 0.0
        children = node.children
        base = [c.data for c in children]
        z = node.data
        moves = [(-1, fwd[id(node)])] + [(j, fwd[id(c)]) for j, c in enumerate(children)]
        total = EPS * abs(p)  # the partial's own rounding
        for j, delta in moves:
            if delta == 0 or not math.isfinite(delta):
                if not math.isfinite(delta):
                    return math.inf
                continue
            worst = 0.0
            for sign in (1.0, -1.0):
                zz, args = z, list(base)
                if j < 0:
                    zz = z + sign * delta
                else:
                    args[j] = base[j] + sign * delta
                try:
                    q = float(rule.partial(k, FLOAT, zz, *args, *node.args))
                except Exception:
                    q = math.inf
                worst = max(worst, abs(q - p))
            total += worst
        return total

    # -- the chain rule with declared conventions at edges --------------------------------------
    def chain(self, overrides: dict[str, tuple]) -> list[float] | None:
        """[value, *partials] by the float chain rule over this graph, edge nodes' partials overridden.

        ``overrides`` maps a convention key to that node's per-input partials (floats).
        """
        if self.out is None:
            return None
        adj = {id(self.out): 1.0}
        for n in reversed(self.nodes):
            ps = self.partials.get(id(n))
            if ps is None or id(n) not in adj:
                continue
            rule = _rule_of(n)
            if overrides:
                args = (*[c.data for c in n.children], *n.args)
                edge = rule.edge_at(*args) if hasattr(rule, "edge_at") else None
                if edge is not None and edge.key in overrides:
                    ps = list(overrides[edge.key])
            a = adj[id(n)]
            for p, c in zip(ps, n.children):
                adj[id(c)] = adj.get(id(c), 0.0) + a * p
        return [self.out.data] + [adj.get(id(leaf), 0.0) for leaf in self.leaves]


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


# -- tolerances --------------------------------------------------------------------------------
@dataclass
class Tolerance:
    """How one backend is judged: a relative and an absolute part per component, stated."""

    rtol: float
    atol: list[float]  # per component: value, then each partial
    allowance: list[float]  # float64's own error, per component (already multiplied by FLOAT_FACTOR)

    def of(self, i: int, o: float) -> float:
        return self.atol[i] + self.rtol * abs(o) + self.allowance[i]


def is_finite_difference(backend: Backend) -> bool:
    return backend.error_floor >= 1.0


def describe_tolerance(backend: Backend) -> str:
    """The tolerance of a method in words, for the report."""
    if is_finite_difference(backend):
        atol = "rtol * max(1, |f|, F/eps)"
    else:
        atol = "0"
    return f"|b - o| <= {atol} + {backend.rtol:g} * |o| + {FLOAT_FACTOR:g} * e"


def tolerance(backend: Backend, case: Case, oracle: Result, graph: PointGraph | None,
              user: tuple[float, float] | None = None) -> Tolerance:
    n = len(case.variables) + 1
    if user is not None:  # the caller's own rtol/atol, exactly as stated
        rtol, atol = user
        return Tolerance(rtol, [atol] * n, [0.0] * n)
    # a subject computing in float32 (numpy data) rounds its inputs and every result to float32:
    # its error is the same analysis with rounded inputs, scaled to its own unit roundoff
    precision = getattr(backend, "unit_roundoff", EPS / 2) / (EPS / 2)
    if graph is None:
        errors = [0.0] * n
    elif precision > 1:
        errors = [e * precision for e in graph.rounded_input_errors]
    else:
        errors = graph.float_errors
    rtol = backend.rtol * case.tol
    if is_finite_difference(backend):
        f = abs(oracle.value) if _finite(oracle.value) else 0.0
        scale = max(1.0, f, errors[0] / EPS)
        atol = [rtol * scale] * n
    else:
        atol = [0.0] * n
    return Tolerance(rtol, atol, [FLOAT_FACTOR * e for e in errors])


# -- the verdict -------------------------------------------------------------------------------
@dataclass
class Judgement:
    verdict: str
    note: str = ""
    errors: dict[str, float] = field(default_factory=dict)  # |b - o| per component
    tolerances: dict[str, float] = field(default_factory=dict)  # the bound per component
    worst: float = math.nan  # largest |b - o| / max(|o|, allowance) among finite components
    chosen: dict[str, float] = field(default_factory=dict)  # at a kink: the subgradient the backend chose


def _components(result: Result, case: Case) -> list[tuple[str, float]]:
    return [("value", result.value)] + [(v, result.grad.get(v, math.nan)) for v in case.variables]


def compare(got: list[tuple[str, float]], expected: list[float], tol: Tolerance, any_mask=None
            ) -> tuple[list[str], list[str], dict, dict, float]:
    """(bad components, non-finite-but-both components, errors, tolerances, worst relative error)."""
    bad, nonfinite, errors, tols, worst = [], [], {}, {}, 0.0
    for i, ((name, b), o) in enumerate(zip(got, expected)):
        if any_mask and any_mask[i]:
            continue
        if _finite(b) and _finite(o):
            t = tol.of(i, o)
            errors[name], tols[name] = abs(b - o), t
            worst = max(worst, abs(b - o) / max(abs(o), tol.allowance[i], 1e-300))
            if not abs(b - o) <= t:
                bad.append(name)
        elif b == o:  # the same infinity: the correctly rounded double of an overflowing number
            errors[name], tols[name] = 0.0, 0.0
        elif not _finite(b) and not _finite(o):
            nonfinite.append(name)  # no finite truth and no finite answer (judged by the caller)
        else:
            errors[name], tols[name] = math.inf, tol.of(i, o) if _finite(o) else 0.0
            worst = math.inf
            bad.append(name)
    return bad, nonfinite, errors, tols, worst


def _fmt(x: float) -> str:
    return fmt(x, 17)


def _off(names: list[str], got, expected) -> str:
    by = dict(got)
    idx = {name: i for i, (name, _) in enumerate(got)}
    return "off: " + ", ".join(f"{n} {_fmt(by[n])} vs {_fmt(expected[idx[n]])}" for n in names)


def judge(result: Result, oracle: Result, backend: Backend, case: Case, point: Point,
          graph: PointGraph | None = None, user: tuple[float, float] | None = None) -> Judgement:
    """The verdict of one backend's result at one point, with a one-sentence note."""
    subject = bool(getattr(backend, "subject", False))
    if result.status == UNSUPPORTED:
        return Judgement(UNSUPPORTED, result.message)
    if graph is None:
        graph = PointGraph(case, point.values)
    if result.status == ERROR:
        return _judge_error(result, oracle, subject, graph, point)
    if oracle.status != OK:
        return Judgement(UNJUDGED, f"not judged: no oracle ({oracle.message})")
    tol = tolerance(backend, case, oracle, graph, user)
    got = _components(result, case)
    truth = [oracle.value] + [oracle.grad[v] for v in case.variables]
    bad, nonfinite, errors, tols, worst = compare(got, truth, tol)
    if not bad and not nonfinite:
        return Judgement(AGREE, _widened_note(errors, tols, tol, case), errors, tols, worst)
    # An op on a declared edge: the backend's number must be what its convention gives there.
    edges = graph.edges
    if point.edge and point.edge not in {k for k, _ in edges}:
        edges = [*edges, (point.edge, None)]
    if edges:
        verdict = _judge_at_edges(result, got, truth, backend, case, point, graph, tol, edges)
        if verdict is not None:
            verdict.errors, verdict.tolerances, verdict.worst = errors, tols, worst
            return verdict
    if bad:
        return Judgement(MISMATCH, _off(bad, got, truth), errors, tols, worst)
    return Judgement(UNDEFINED, "no finite true derivative here, and the backend says "
                     + ", ".join(f"{n} = {_fmt(dict(got)[n])}" for n in nonfinite), errors, tols, worst)


def _widened_note(errors, tols, tol: Tolerance, case: Case) -> str:
    names = ["value", *case.variables]
    decided = [n for i, n in enumerate(names) if n in errors and tol.allowance[i] > 0
               and errors[n] > tols[n] - tol.allowance[i]]
    if decided:
        return ("float64 itself cannot do better here: " + ", ".join(decided)
                + " judged against its own float error bound")
    return ""


def _judge_error(result: Result, oracle: Result, subject: bool, graph: PointGraph, point: Point) -> Judgement:
    what = result.message or result.kind or "error"
    if not subject:
        return Judgement(ERROR, f"the reference failed: {what}")
    kind = result.kind or "raises"
    if kind in ("crash", "timeout"):
        return Judgement(MISMATCH, f"{kind}: {what}")
    ieee_edge = bool(point.edge or graph.edges or graph.nonfinite) or (
        oracle.status == OK and not all(_finite(x) for x in (oracle.value, *oracle.grad.values())))
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
        bad += [n for n in nonfinite if not _same_nonfinite(dict(got)[n], expected[_index(got, n)])]
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
    if not bad or any(_finite(values[n]) for n in bad):  # a wrong finite number is never excused
        return None
    where = ", ".join(k for k, _ in edges)
    return Judgement(RAISES, f"at {where}: {', '.join(bad)} is nan/inf, as IEEE arithmetic makes the textbook "
                             "formula there (float semantics at a domain edge, not a derivative bug)")


def _index(got, name) -> int:
    return [g for g, _ in got].index(name)


def _fill(overrides: dict, value: float) -> dict:
    return {k: tuple(value if p is ANY else p for p in ps) for k, ps in overrides.items()}


def _try_convention(result, got, case, point, graph, tol, overrides, why, backend) -> Judgement | None:
    zero = exact_with_conventions(case, point, _fill(overrides, 0.0), graph)
    if zero is None:
        return None
    mask = None
    if any(p is ANY for ps in overrides.values() for p in ps):
        other = exact_with_conventions(case, point, _fill(overrides, 1.7), graph)
        if other is None:
            return None
        mask = [not (_same_nonfinite(a, b) or a == b) for a, b in zip(zero, other)]
    bad, nonfinite, *_ = compare(got, zero, tol, mask)
    mismatched_nonfinite = [n for n in nonfinite if not _same_nonfinite(dict(got)[n], zero[_index(got, n)])]
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
    best = max(range(1, len(got)), key=lambda i: abs(g_hi[i] - g_lo[i]) if _finite(g_hi[i] - g_lo[i]) else -1,
               default=None)
    if best is None or not _finite(got[best][1]) or not _finite(g_hi[best] - g_lo[best]) or g_hi[best] == g_lo[best]:
        return None
    s = lo + (got[best][1] - g_lo[best]) / (g_hi[best] - g_lo[best]) * (hi - lo)
    if not (lo <= s <= hi):
        return None
    return _try_convention(result, got, case, point, graph, tol, {**declared, key: (s,)},
                           f"{key.split('@')[0]}' = {s:g} at the kink (valid: [{lo:g}, {hi:g}])", backend)


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
