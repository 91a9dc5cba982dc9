"""Cross-checking gradients inside a test suite.

    from reference.testing import assert_gradients_agree
    assert_gradients_agree(lambda m, x, y: m.tanh(x / y), at={"x": 0.5, "y": 2.0})
    assert_gradients_agree("tanh(x/y)", at={"x": 0.5, "y": 2.0}, backends=("torch",))

The engine (this project's, or any micrograd-style class given as ``engine``) and every
named backend are measured against the 50-digit SymPy oracle.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tabulate import tabulate

from .backends import EngineBackend, load_class, make_backends
from .cases import Case, Point, variables_of
from .expr import to_case
from .harness import MISMATCH, run_case

DEFAULT_BACKENDS = ("torch", "sympy", "fd-central")
_RECORDERS: list[list[dict]] = []  # the pytest plugin's collectors of records


@dataclass
class Comparison:
    """The records of one check, and whether every backend agreed within tolerance."""

    case: Case
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def table(self) -> str:
        """Each backend's value and partials, the oracle's, the differences, and which broke tolerance."""
        first = self.records[0]
        names = list(first["point"])
        rows = [["oracle", first["oracle_value"], *[first["oracle_grad"][v] for v in names], "", "", ""]]
        for r in self.records:
            diffs = [_diff(r["grad"].get(v), r["oracle_grad"][v]) for v in names]
            rows.append([r["backend"], r["value"], *[r["grad"].get(v, "") for v in names],
                         ", ".join(diffs), "BROKE" if r in self.failures else r["verdict"],
                         r["note"] or r["message"]])
        head = ["backend", "value", *[f"d/d{v}" for v in names], "differences", "", "note"]
        at = ", ".join(f"{k}={v}" for k, v in first["point"].items())
        return f"{self.case.name} at {at}\n" + tabulate(rows, head, tablefmt="simple", disable_numparse=True)


def _diff(b, o) -> str:
    if isinstance(b, float) and isinstance(o, float):
        return f"{abs(b - o):.2e}"
    return "-" if b == o else f"{b} vs {o}"


def _as_case(f: Callable | str | Case, at) -> Case:
    """A one-point Case of ``f`` at ``at`` (a dict by name, or values in the variables' order)."""
    if isinstance(f, str):
        if not isinstance(at, dict):
            raise TypeError("with an expression string, give `at` as a dict of variable values")
        return to_case(f, at)
    base = f if isinstance(f, Case) else Case(getattr(f, "__name__", "f"), f, variables_of(f), (),
                                             frozenset({"user"}))
    names = base.variables
    values = tuple(float(at[n]) for n in names) if isinstance(at, dict) else tuple(float(x) for x in at)
    if len(values) != len(names):
        raise ValueError(f"{len(names)} variables ({', '.join(names)}) but {len(values)} values")
    return Case(base.name, base.fn, names, (Point(values),), base.tags, base.note, base.tol)


def check_gradients(f: Callable | str | Case, at: dict | Sequence[float], backends: Sequence[str] = DEFAULT_BACKENDS,
                    rtol: float | None = None, atol: float = 0.0, engine: str | type | None = None) -> Comparison:
    """Run f at ``at`` through the engine and ``backends``; judge each against the oracle.

    ``f`` is a function over a math namespace (``lambda m, x, y: ...``), an expression
    string, or a corpus ``Case``; ``at`` maps variable names to values (or lists them in order).

    Without ``rtol`` each backend keeps its own tolerance (and its declared conventions at
    kinks); with ``rtol``/``atol`` a partial fails when |b - oracle| > atol + rtol * |oracle|.
    """
    case = _as_case(f, at)
    subject = EngineBackend(load_class(engine) if isinstance(engine, str) else engine) if engine else None
    chosen = [subject or make_backends(["engine"])[0], *make_backends([b for b in backends if b != "engine"])]
    records = run_case(case, chosen)
    if rtol is None:
        failures = [r for r in records if r["verdict"] == MISMATCH and not r["expected"]]
    else:
        failures = [r for r in records if r["status"] != "unsupported" and not _within(r, rtol, atol)]
    for recorder in _RECORDERS:
        recorder.extend(records)
    return Comparison(case, records, failures)


def _within(record: dict, rtol: float, atol: float) -> bool:
    if record["status"] != "ok":
        return False
    for v, o in record["oracle_grad"].items():
        b = record["grad"][v]
        if isinstance(b, str) or isinstance(o, str):  # non-finite: must be the same
            if b != o:
                return False
        elif not abs(b - o) <= atol + rtol * abs(o):
            return False
    return True


def assert_gradients_agree(f: Callable | str | Case, at: dict | Sequence[float],
                           backends: Sequence[str] = DEFAULT_BACKENDS, rtol: float | None = None, atol: float = 0.0,
                           engine: str | type | None = None) -> Comparison:
    """Raise AssertionError with a table when any backend disagrees with the oracle; else the comparison."""
    comparison = check_gradients(f, at, backends, rtol, atol, engine)
    if not comparison.ok:
        broke = ", ".join(r["backend"] for r in comparison.failures)
        raise AssertionError(f"gradients disagree ({broke}):\n{comparison.table()}")
    return comparison


def corpus_params(pattern: str | None = None) -> list:
    """``pytest.param(case, id=name)`` for each corpus case (matching ``pattern``), to parametrize a test."""
    import pytest

    from .cases import select
    return [pytest.param(c, id=c.name) for c in select(pattern)]


__all__ = ["DEFAULT_BACKENDS", "Comparison", "assert_gradients_agree", "check_gradients", "corpus_params"]
