"""Cross-checking gradients inside a test suite.

    from reference.testing import assert_gradients_agree
    assert_gradients_agree(lambda m, x, y: m.tanh(x / y), at={"x": 0.5, "y": 2.0})
    assert_gradients_agree("tanh(x/y)", at={"x": 0.5, "y": 2.0}, backends=("torch",))

The subject (this project's engine, any micrograd-style class given as ``engine``, or any callable
given as ``subject``) and every named backend are measured against the exact SymPy oracle.
"""
from __future__ import annotations

import os

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tabulate import tabulate

from reference.output import wording
from reference.subject.explain import num, off_by

from reference.backends import Backend, EngineBackend, load_class, make_backends
from reference.corpus.cases import Case, Point, variables_of
from reference.corpus.parser import to_case
from reference.judging.judge import AGREE, CONVENTION, UNDEFINED
from reference.running.harness import run_case
from reference.core.formatting import fmt
from autodiff import Value
from reference.corpus.cases import select
from reference.corpus.parser import parse
from reference.judging.gradcheck import SKIP, Check, api_checks
from reference.judging.hessian import torch_hessian

DEFAULT_REFERENCES = ("torch", "sympy", "fd-central")  # what a check compares the subject with, unless told
_RECORDERS: list[list[dict]] = []  # the pytest plugin's collectors of records
PASSING = (AGREE, CONVENTION, UNDEFINED)  # for the subject; a reference's finding never fails the check


class SubjectBackend(Backend):
    """Any callable ``subject(*values) -> (value, [partials])``, checked in place of the engine."""

    method = "the given subject callable"
    rtol = 1e-10
    subject = True

    def __init__(self, fn: Callable, name: str = "subject") -> None:
        self.fn, self.name = fn, name
        self.label = getattr(fn, "__qualname__", repr(fn))

    def _compute(self, case, point):
        value, partials = self.fn(*point)
        partials = list(partials)
        if len(partials) != len(case.variables):
            raise ValueError(f"the subject gave {len(partials)} partials for {len(case.variables)} variables")
        return float(value), [float(p) for p in partials], None


def torch_subject(fn: Callable) -> Callable:
    """A subject from a function of 0-d float64 tensors (a custom ``torch.autograd.Function`` included)."""
    import torch

    apply = fn.apply if isinstance(fn, type) and issubclass(fn, torch.autograd.Function) else fn

    def subject(*values):
        xs = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in values]
        out = apply(*xs)
        grads = torch.autograd.grad(out, xs, allow_unused=True)
        return out.item(), [0.0 if g is None else g.item() for g in grads]

    def hessian(*values):
        """H[i][j] = d/dx_j of df/dx_i by torch.autograd.functional.hessian (the Function's backward,
        differentiated)."""
        return torch_hessian(None, values, fn=apply)

    subject.hessian = hessian
    subject.__qualname__ = f"torch_subject({getattr(fn, '__qualname__', repr(fn))})"
    return subject


@dataclass
class Comparison:
    """The records of one check, and whether the subject was checked and right."""

    case: Case
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    checks: list = field(default_factory=list)  # reference.judging.gradcheck results (reentrant, zero upstream, linear)
    second: list[dict] = field(default_factory=list)  # order-2 records (Hessians), with order=2
    diagnosis: list[dict] = field(default_factory=list)  # the engine's findings (its op probes), as in adcheck run

    @property
    def problems(self) -> list[dict]:
        """The engine's findings that are something to fix (a convention or float32 note is not)."""
        return [d for d in self.diagnosis if wording.is_problem(d)]

    @property
    def ok(self) -> bool:
        """Checked and right: the expression, and (for an engine) every op the probes tried."""
        return bool(self.records) and not self.failures and all(c.ok for c in self.checks) and not self.problems

    def why(self) -> str:
        """Why this comparison is not ok, in words ('' when it is): the diagnosis first, with its file:line."""
        lines = []
        if self.problems and not self.failures:
            lines.append(f"{self.case.name} agrees here, but the engine's op probes found a bug:")
        elif self.problems:
            lines.append("the engine's op probes found:")
        lines += [f"  {line}" for d in self.problems for line in wording.finding_lines(d, markdown=False, evidence=1)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return self.table()

    def table(self) -> str:
        """Each backend's value and partials, the oracle's, each error and tolerance; never raises."""
        try:
            return self._table()
        except Exception as err:  # a table for a failure message must not hide the failure
            return f"{self.case.name}: (no table: {type(err).__name__}: {err})\n" + "\n".join(
                f"{r.get('backend')}: {r.get('verdict')} {r.get('note') or r.get('message')}" for r in self.records)

    def _table(self) -> str:
        if not self.records:
            return f"{self.case.name}: nothing was run"
        first = self.records[0]
        names = list(first["point"])
        at = ", ".join(f"{k}={v!r}" for k, v in first["point"].items())
        head = [f"{self.case.name} at {at}"]
        if not first["oracle_grad"]:
            head.append("no oracle, nothing judged: " + (first["note"] or first["message"]))
        comps = ["value", *names]
        rows = [["oracle", *[_num(first["oracle_value"])], *[_num(first["oracle_grad"].get(v)) for v in names],
                 "", ""]]
        for r in self.records:
            vals = [r["value"], *[r["grad"].get(v) for v in names]]
            rows.append([r["backend"] + (" (subject)" if r.get("subject") else ""), *map(_num, vals),
                         "FAILED " + r["verdict"] if r in self.failures else r["verdict"],
                         r["note"] or r["message"]])
            errs = [_component_error(r, c) for c in comps if c in r.get("errors", {})
                    and r["errors"][c] > r["tolerances"].get(c, 0.0)]
            if r in self.failures and errs:
                rows.append(["", *[""] * len(comps), "", "; ".join(errs)])
        table = tabulate(rows, ["backend", "value", *[f"d/d{v}" for v in names], "verdict", "note"],
                         tablefmt="simple", disable_numparse=True)
        second = self.second
        if second:
            pairs = [(a, b) for a in names for b in names]
            rows = [["oracle", *[_num(second[0]["oracle_hessian"].get(a, {}).get(b)) for a, b in pairs], "", ""]]
            for r in second:
                rows.append([r["backend"] + (" (subject)" if r.get("subject") else ""),
                             *[_num(r["hessian"].get(a, {}).get(b)) for a, b in pairs],
                             "FAILED " + r["verdict"] if r in self.failures else r["verdict"],
                             r["note"] or r["message"]])
            table += "\n\nHessian, H[x][y] = d/dy(df/dx):\n" + tabulate(
                rows, ["backend", *[f"{a}{b}" for a, b in pairs], "verdict", "note"], tablefmt="simple",
                disable_numparse=True)
        if self.checks:
            table += "\n\n" + "\n".join(f"{c.name}: {c.status.upper() if c.status == 'fail' else c.status}: {c.why}"
                                         for c in self.checks)
        why = self.why()
        return (why + "\n\n" if why else "") + "\n".join(head) + "\n" + table

    def _rows(self) -> tuple[list[str], list[tuple[list[str], bool]]]:
        """Header and rows (cells, failed?) for the notebook tables: oracle first, then each backend."""
        first = self.records[0]
        names = list(first["point"])
        head = ["backend", "value", *[f"d/d{v}" for v in names], "verdict", "error", "note"]
        rows = [(["oracle", _num(first["oracle_value"]), *[_num(first["oracle_grad"].get(v)) for v in names],
                  "", "", "" if first["oracle_grad"] else "no oracle: " + (first["note"] or first["message"])],
                 False)]
        for r in self.records:
            failed = r in self.failures
            rows.append(([r["backend"] + (" (subject)" if r.get("subject") else ""), _num(r["value"]),
                          *[_num(r["grad"].get(v)) for v in names],
                          ("FAILED " if failed else "") + r["verdict"], wording.record_error(r) if failed else "",
                          r["note"] or r["message"]], failed))
        return head, rows

    def _caption(self) -> str:
        at = ", ".join(f"{k}={v!r}" for k, v in self.records[0]["point"].items())
        verdict = "checked and right" if self.ok else "FAILED"
        if self.problems and not self.failures:
            verdict = "FAILED: this expression agrees, but the engine's op probes found a bug"
        return f"{self.case.name} at {at}: {verdict}"

    def _repr_markdown_(self) -> str:
        """A Markdown table (notebooks, and anything that renders Markdown)."""
        if not self.records:
            return f"**{self.case.name}**: nothing was run"
        head, rows = self._rows()
        cell = lambda x: str(x).replace("|", "\\|")
        lines = [f"**{self._caption()}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(("**" + cell(c) + "**" if failed and c else cell(c)) for c in cells) + " |"
                  for cells, failed in rows]
        if self.problems:
            lines += ["", "What is wrong in the engine:", ""]
            lines += [line for d in self.problems for line in wording.finding_lines(d, markdown=True, evidence=1)]
        extra = self._table_tail()
        return "\n".join(lines) + ("\n\n```\n" + extra + "\n```" if extra else "")

    def _table_tail(self) -> str:
        """What the plain table has after its first table (Hessians, gradchecks), '' if nothing."""
        text = self.table()
        why = self.why()
        if why:
            text = text[len(why) + 2:]
        parts = text.split("\n\n", 1)
        return parts[1] if len(parts) > 1 else ""

    def _repr_html_(self) -> str:
        """An HTML table, failed rows in red (Jupyter)."""
        import html
        if not self.records:
            return f"<b>{html.escape(self.case.name)}</b>: nothing was run"
        head, rows = self._rows()
        out = [f"<p><b>{html.escape(self._caption())}</b></p><table>",
               "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
        for cells, failed in rows:
            style = ' style="color:#b00020;font-weight:bold"' if failed else ""
            out.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        out.append("</table>")
        if self.problems:
            out.append("<p><b>What is wrong in the engine:</b></p><ul>")
            out += [f'<li style="color:#b00020">{html.escape(line)}</li>'
                    for d in self.problems for line in wording.finding_lines(d, markdown=False, evidence=1)[:1]]
            out.append("</ul>")
        extra = self._table_tail()
        if extra:
            out.append(f"<pre>{html.escape(extra)}</pre>")
        return "\n".join(out)


def _num(x) -> str:
    return fmt(x, 17)  # every digit: the failure message must show where two numbers part


def _component_error(r: dict, c: str) -> str:
    """One failing component in words: 'd/dy: -9 vs -6, off by 3 (50.0%)' (never 'tolerance 0')."""
    got = r["value"] if c == "value" else (r.get("grad") or {}).get(c)
    true = r["oracle_value"] if c == "value" else (r.get("oracle_grad") or {}).get(c)
    label = "value" if c == "value" else f"d/d{c}"
    size = off_by(got, true)
    tol = r["tolerances"].get(c, 0.0)
    allowed = f" (tolerance {tol:.2g})" if tol and size else ""
    return f"{label}: {num(got)} vs {num(true)}" + (f", {size}{allowed}" if size else "")


def _as_case(f: Callable | str | Case, at) -> Case:
    """A one-point Case of ``f`` at ``at`` (a dict by name, or values in the variables' order)."""
    if isinstance(f, str):
        if not isinstance(at, dict):
            raise TypeError("with an expression string, give `at` as a dict of variable values")
        variables = parse(f)[0]
        missing = [v for v in variables if v not in at]
        if missing:
            raise ValueError(f"`at` gives no value for {', '.join(missing)} (the expression uses "
                             f"{', '.join(variables)})")
        return to_case(f, {v: at[v] for v in variables})
    base = f if isinstance(f, Case) else Case(getattr(f, "__name__", "f"), f, variables_of(f), (),
                                             frozenset({"user"}))
    names = base.variables
    if isinstance(at, dict):
        missing = [n for n in names if n not in at]
        if missing:
            raise ValueError(f"`at` gives no value for {', '.join(missing)} (the function takes {', '.join(names)})")
        values = tuple(float(at[n]) for n in names)
    else:
        values = tuple(float(x) for x in at)
    if len(values) != len(names):
        raise ValueError(f"{len(names)} variables ({', '.join(names)}) but {len(values)} values")
    return Case(base.name, base.fn, names, (Point(values),), base.tags, base.note, base.tol)


def check_gradients(f: Callable | str | Case, at: dict | Sequence[float],
                    backends: Sequence[str] | str = DEFAULT_REFERENCES,
                    rtol: float | None = None, atol: float = 0.0, engine: str | type | None = None, order: int = 1,
                    subject: Callable | None = None, gradchecks: bool = False) -> Comparison:
    """Run f at ``at`` through the subject and ``backends``; judge each against the exact oracle.

    ``f`` is a function over a math namespace (``lambda m, x, y: ...``), an expression string, or a
    corpus ``Case``: the reference formula. The subject is ``subject`` (any callable
    ``subject(*values) -> (value, [partials])``) if given, else the engine (``engine``: a Value
    class or 'MODULE:CLASS'; this project's engine by default).

    Without ``rtol`` each backend keeps its own tolerance (and its declared conventions); with
    ``rtol``/``atol`` each component fails when |b - oracle| > atol + rtol * |oracle|.
    The comparison fails when the subject is wrong, could not run f, raised, or when there is no
    oracle (nothing was judged), and when a named backend is off where nothing declared it.

    ``order=2`` also compares Hessians (``reference.judging.hessian``): the subject's (the engine's by
    reverse over reverse; a callable's ``.hessian(*values)`` or third return value; ``torch_subject``
    has one) and the named backends' against the exact one, entry by entry, both mixed orders kept.
    ``gradchecks=True`` adds ``reference.judging.gradcheck``'s checks of the Value class (reentrant backward,
    zero upstream gives zero, backward(gradient=g) scales linearly): a failed one fails the comparison.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if isinstance(backends, str):
        backends = (backends,)
    case = _as_case(f, at)
    if subject is not None:
        chosen_subject: Backend = SubjectBackend(subject)
    elif engine:
        chosen_subject = EngineBackend(load_class(engine) if isinstance(engine, str) else engine)
    else:
        chosen_subject = make_backends(["engine"])[0]
    chosen_subject.subject = True
    references = make_backends([b for b in backends if b != "engine"])
    for b in references:
        b.subject = False
    user = None if rtol is None else (float(rtol), float(atol))
    records = run_case(case, [chosen_subject, *references], user=user, order=order)
    failures = [r for r in records if r["subject"] and r["verdict"] not in PASSING]
    # the backends the caller named are compared too: one that is off (undeclared) fails the check
    failures += [r for r in records if not r["subject"] and r["verdict"] in ("unjudged", "mismatch")
                 and not r["expected"]]
    if order == 2 and not any(r["subject"] and r.get("order") == 2 for r in records):
        failures.append({"backend": chosen_subject.name, "verdict": "unsupported", "subject": True, "order": 2,
                         "note": "the subject has no second-order method: nothing was checked at order 2",
                         "message": ""})
    checks = []
    if gradchecks:
        cls = _value_class(engine) if subject is None else None
        if cls is not None:
            checks = api_checks(cls, case, case.points[0].values)
        else:  # said, never silently passed
            why = ("a callable subject has no backward() to check" if subject is not None else
                   "an engine given as a file path runs in a worker; pass the class itself for these checks")
            checks = [Check("gradchecks", SKIP, why)]
    for recorder in _RECORDERS:
        recorder.extend(records)
    diagnosis = engine_diagnosis(chosen_subject) if subject is None and engine else []
    return Comparison(case, [r for r in records if r.get("order", 1) == 1], failures, checks,
                      [r for r in records if r.get("order") == 2], diagnosis)


_DIAGNOSES: dict = {}  # engine -> its findings, once per engine and session (the op probes take a second or two)


def _engine_key(backend) -> tuple | None:
    subject = getattr(backend, "engine", None)
    if subject is None:
        return None
    if subject.spec is not None:
        spec = subject.spec
        try:
            stamp = os.stat(spec.path).st_mtime_ns if spec.path else 0
        except OSError:
            stamp = 0
        return ("spec", spec.text, spec.grad_attr, spec.backward_method, spec.functions, stamp)
    return ("class", id(subject.cls), subject.cls)


def engine_diagnosis(backend) -> list[dict]:
    """The findings of an engine backend's op probes (as ``adcheck run --engine`` makes them), cached per engine
    (and, for a file, per version of it) for the session; [] for this project's engine or a callable."""
    key = _engine_key(backend)
    if key is None:
        return []
    if key not in _DIAGNOSES:
        subject = backend.engine
        subject.prepare()
        _DIAGNOSES[key] = subject.diagnosis()
    return _DIAGNOSES[key]


def _value_class(engine):
    """The Value class of ``engine`` in this process (None for a file path, which runs in a worker)."""
    if engine is None:
        return Value
    if isinstance(engine, type):
        return engine
    if isinstance(engine, str) and ":" in engine and not engine.split(":")[0].endswith(".py"):
        import importlib
        module, name = engine.rsplit(":", 1)
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            return None
    return None


def assert_gradients_agree(f: Callable | str | Case, at: dict | Sequence[float],
                           backends: Sequence[str] | str = DEFAULT_REFERENCES, rtol: float | None = None,
                           atol: float = 0.0, engine: str | type | None = None, order: int = 1,
                           subject: Callable | None = None, gradchecks: bool = False) -> Comparison:
    """Raise AssertionError with a table when the subject is not checked and right; else the comparison."""
    __tracebackhide__ = True  # pytest: show the caller's line, not this helper's source
    comparison = check_gradients(f, at, backends, rtol, atol, engine, order, subject, gradchecks)
    if not comparison.ok:
        why = "; ".join([f"{r['backend']}{' (order 2)' if r.get('order') == 2 else ''}: {r['verdict']} "
                         f"({r['note'] or r['message']})" for r in comparison.failures]
                        + [f"{c.name}: {c.why}" for c in comparison.checks if not c.ok])
        unchecked = comparison.records and all(r["verdict"] in ("unjudged", "unsupported", "error")
                                               for r in comparison.failures)
        problems = comparison.problems
        if problems:  # the diagnosis leads: which op, which line of which file
            what = "the engine is wrong: " + wording.finding_lines(problems[0], markdown=False, evidence=0)[0]
            raise AssertionError(f"{what}\n{comparison.table()}")
        what = "the gradients could not be checked" if unchecked else "the gradients are wrong"
        raise AssertionError(f"{what}: {why}\n{comparison.table()}")
    return comparison


def corpus_params(pattern: str | None = None) -> list:
    """``pytest.param(case, id=name)`` for each corpus case (matching ``pattern``), to parametrize a test."""
    import pytest

    return [pytest.param(c, id=c.name) for c in select(pattern)]


__all__ = ["DEFAULT_REFERENCES", "Comparison", "SubjectBackend", "assert_gradients_agree", "check_gradients",
           "corpus_params", "torch_subject"]
