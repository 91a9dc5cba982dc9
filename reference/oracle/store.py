"""The oracle: the correctly rounded double of each exact value, partial and second partial.

For the corpus the answers are data (``reference/oracle/data/oracle.json.gz``), computed once and read
back without SymPy; ``python -m reference.oracle --rebuild`` recomputes them, and a test fails
when a case's fingerprint no longer matches (see ``fingerprint``). Anything else (``adcheck
check``, fuzz, the pytest API) is derived on the fly under a CPU-time budget.

Two exact routes, which agree on the whole corpus (the rebuild checks it):

- ``sympy``: ``sympy.diff`` of the case's expression, built with float constants taken exactly
  (``reference.oracle.exact``), evaluated with mpmath at rising precision until the rounding is
  certain. The oracle of the design; used for graphs of at most ``CHAIN_NODES`` nodes and
  ``CHAIN_VARIABLES`` variables.
- ``chain``: the exact chain rule over the case's own engine graph, each local partial from
  ``sympy.diff`` of the op's definition, Hessians by forward-over-reverse (``reference.oracle.chain``).
  Used for larger graphs (the MLPs), where it is hundreds of times faster, and by
  ``exact_with_conventions``, which applies a declared convention at edge points.

API: ``oracle_for``, ``oracle_at``, ``exact``, ``exact_with_conventions``, ``edges_at``,
``fingerprint``, ``stale``, ``rebuild``, ``cpu_budget``, ``check_budget``; failures raise
``NoOracle`` with a one-line reason. This module imports neither SymPy nor mpmath until it
has to derive something.
"""
from __future__ import annotations

import gzip
import hashlib
import inspect
import json
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from autodiff.engine import VALUE_MATH, Value
from autodiff.graph import topological
from reference.core.budget import DEFAULT_BUDGET, check_budget, cpu_budget, deadline
from reference.core.errors import NoOracle
from reference.corpus.cases import CORPUS
from reference.oracle.balls import settle
from reference.oracle.chain import Graph
from reference.oracle.exact import DERIVATIONS

__all__ = ["CHAIN_NODES", "CHAIN_VARIABLES", "DATA", "edges_at", "exact", "exact_with_conventions", "fingerprint",
           "forget_loaded", "oracle_at", "oracle_for", "stale", "stored_sympy_float"]

DATA = Path(__file__).parent / "data" / "oracle.json.gz"
FORMAT = 1
METHOD_VERSION = 3  # part of every fingerprint: bump it when the oracle's method changes


CHAIN_NODES = 400  # graphs larger than this (or with more variables) take the chain route
CHAIN_VARIABLES = 24

Triple = tuple  # (value, grad tuple, hessian tuple of tuples or None)


# -- fingerprints ----------------------------------------------------------------------------------
def _graph_signature(case, values) -> str:
    """What the case computes at a point: ops, parameters, wiring and constants of its engine graph."""

    inputs = [Value(x) for x in values]
    try:
        out = case.fn(VALUE_MATH, *inputs)
    except Exception as err:  # the engine cannot run it: fall back to the source
        return f"untraceable {type(err).__name__}: {_source(case.fn)}"
    if not isinstance(out, Value):
        return f"constant {float(out).hex()}"
    where = {id(v): f"in{k}" for k, v in enumerate(inputs)}
    position: dict[int, int] = {}
    parts, definitions = [], {}
    for k, node in enumerate(topological(out)):
        position[id(node)] = k
        rule = node.rule
        if rule is None:
            parts.append(where.get(id(node)) or float(node.data).hex())
            continue
        args = ",".join(float(a).hex() if isinstance(a, float) else repr(a) for a in node.args)
        parts.append(f"{rule.name}({','.join(str(position[id(c)]) for c in node.children)};{args})")
        if rule.name not in definitions:
            definitions[rule.name] = _definition(rule)
    return " ".join(parts) + " | " + " ".join(f"{k}: {v}" for k, v in sorted(definitions.items()))


def _definition(rule) -> str:
    """The row's SymPy definition as the expression it builds (not its source text, so reformatting is no change)."""
    import sympy

    if rule.systems.sympy is None:
        return "-"
    symbols = sympy.symbols(f"x0:{rule.arity + len(rule.params)}", real=True)
    return sympy.srepr(rule.systems.sympy(sympy, *symbols))


def _source(fn) -> str:
    if fn is None:
        return "-"
    try:
        text = inspect.getsource(fn).strip()
    except (OSError, TypeError):
        text = getattr(fn, "__qualname__", repr(fn))
    cells = getattr(fn, "__closure__", None) or ()
    values = []
    for cell in cells:
        try:
            values.append(repr(cell.cell_contents))
        except ValueError:
            values.append("<empty>")
    return text + (" closure " + " ".join(values) if values else "")


_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fingerprint(case) -> str:
    """A hash of what determines a case's oracle: name, variables, points, its graph, the method."""
    cached = _FINGERPRINTS.get(case)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    h.update(json.dumps([METHOD_VERSION, case.name, list(case.variables)]).encode())
    for point in case.points:
        h.update((" ".join(float(x).hex() for x in point.values) + "\n").encode())
        h.update(_graph_signature(case, point.values).encode())
    value = h.hexdigest()[:24]
    _FINGERPRINTS[case] = value
    return value


# -- the stored data -------------------------------------------------------------------------------
_DATA: dict | None = None
_DATA_LOCK = threading.Lock()


def _load(path: Path = DATA) -> dict:
    global _DATA
    with _DATA_LOCK:
        if _DATA is None or path != DATA:
            try:
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    data = json.load(f)
            except FileNotFoundError:
                data = {"cases": {}}
            if path != DATA:
                return data
            _DATA = data
        return _DATA


def _stored(case) -> dict | None:
    """The stored entry of a corpus case, if its fingerprint matches (else None)."""
    entry = _load()["cases"].get(case.name)
    if entry is None or entry.get("fingerprint") != fingerprint(case):
        return None
    return entry


def _num(x) -> float:
    return float(x)  # "nan", "inf", "-inf" or a JSON number, exactly


def _enc(x: float):
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _decode(point: dict) -> Triple:
    if "error" in point:
        raise NoOracle(point["error"])
    hessian = point.get("hessian")
    return (_num(point["value"]), tuple(_num(g) for g in point["grad"]),
            tuple(tuple(_num(v) for v in row) for row in hessian) if hessian is not None else None)


def _encode(triple: Triple) -> dict:
    value, grad, hessian = triple
    out = {"value": _enc(value), "grad": [_enc(g) for g in grad]}
    if hessian is not None:
        out["hessian"] = [[_enc(v) for v in row] for row in hessian]
    return out


def oracle_for(case, point_index: int, order: int = 2) -> Triple:
    """(value, grad, hessian) at ``case.points[point_index]``: stored for the corpus, else derived.

    Every number is the correctly rounded double of the exact one (zeros unsigned; nan where the
    exact formula has no real value, inf where IEEE arithmetic overflows or divides by 0).
    ``hessian[i][j]`` is d/dx_j of df/dx_i (None when derived on the fly at order 1).
    """
    entry = _stored(case)
    if entry is not None:
        return _decode(entry["points"][point_index])
    return exact(case, case.points[point_index].values, order=order)


def oracle_at(case, point: Sequence[float], order: int = 1) -> Triple:
    """The oracle at any point: stored when it is one of the case's own points, else derived."""
    key = [float(x).hex() for x in point]
    for i, p in enumerate(case.points):
        if [float(x).hex() for x in p.values] == key:
            entry = _stored(case)
            if entry is not None:
                return _decode(entry["points"][i])
            break
    return exact(case, point, order=order)


def stored_sympy_float(case, point: Sequence[float]) -> list[float] | None:
    """SymPy's float64 code's [value, *partials] at a corpus point, as stored (None if not)."""
    entry = _stored(case)
    if entry is None:
        return None
    key = [float(x).hex() for x in point]
    for p, stored in zip(case.points, entry["points"]):
        if [float(x).hex() for x in p.values] == key:
            values = stored.get("sympy_float")
            return [_num(v) for v in values] if values is not None else None
    return None


def stale(cases=None, path: Path = DATA) -> list[str]:
    """Names of cases whose stored oracle is missing or out of date (and stored names not in ``cases``)."""
    if cases is None:
        cases = CORPUS
    stored = _load(path)["cases"]
    names = {c.name for c in cases}
    out = [c.name for c in cases if stored.get(c.name, {}).get("fingerprint") != fingerprint(c)]
    return out + sorted(n for n in stored if n not in names)


# -- deriving on the fly ---------------------------------------------------------------------------
def route_for(case, point: Sequence[float]) -> str:
    """'sympy' for small graphs, 'chain' for large ones (a deterministic choice, no timing)."""
    try:
        graph = Graph(case, point)
    except NoOracle:
        return "sympy"
    return "chain" if len(graph.nodes) > CHAIN_NODES or graph.n > CHAIN_VARIABLES else "sympy"


def exact(case, point: Sequence[float], order: int = 1, budget: float | None = DEFAULT_BUDGET,
          route: str = "auto") -> Triple:
    """Derive (value, grad, hessian or None) at ``point`` now, within ``budget`` CPU seconds."""
    budget = check_budget(budget)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    with cpu_budget(budget):
        if route == "auto":
            route = route_for(case, point)
        if route == "chain":
            return _chain_exact(case, point, order)
        return DERIVATIONS.get(case).exact(point, order, check=deadline)


def _chain_exact(case, point, order: int, overrides: Mapping[str, tuple] | None = None) -> Triple:
    graph = Graph(case, point)
    doubles, bits = settle(lambda: graph.run(order, overrides), check=deadline)
    n = graph.n
    if any(d is None for d in doubles):
        names = ["value", *case.variables] + [f"d2/d{a}d{b}" for a in case.variables for b in case.variables]
        missing = [names[i] for i, d in enumerate(doubles) if d is None]
        raise NoOracle(f"the rounding of {', '.join(missing[:3])} is not certain at {bits} bits")
    hessian = None
    if order >= 2:
        hessian = tuple(tuple(doubles[1 + n + i * n:1 + n + (i + 1) * n]) for i in range(n))
    return doubles[0], tuple(doubles[1:1 + n]), hessian


def exact_with_conventions(case, point: Sequence[float], overrides: Mapping[str, tuple],
                           budget: float | None = DEFAULT_BUDGET) -> tuple[float, tuple[float, ...]]:
    """(value, grad) by the exact chain rule, with ``overrides[edge key]`` as the local partials there.

    A node on a declared edge of its op (tested on the float values a backend sees) whose key is
    in ``overrides`` takes those per-input partials (None keeps the exact one); elsewhere every
    local partial is exact. This is the oracle under that op's declared convention.
    """
    with cpu_budget(check_budget(budget)):
        value, grad, _ = _chain_exact(case, point, 1, overrides)
    return value, grad


def edges_at(case, point: Sequence[float]) -> set[str]:
    """The declared edge keys some node of the case's engine graph sits on at ``point``."""
    return Graph(case, point).edge_keys()


def forget_loaded() -> None:
    """Drop the data read from disk, so the next read sees a rewritten file."""
    global _DATA
    with _DATA_LOCK:
        _DATA = None
