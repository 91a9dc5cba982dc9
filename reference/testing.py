"""Cross-checking gradients inside a test suite.

    from reference.testing import assert_gradients_agree
    assert_gradients_agree(lambda m, x, y: m.tanh(x / y), at={"x": 0.5, "y": 2.0})
    assert_gradients_agree("tanh(x/y)", at={"x": 0.5, "y": 2.0}, backends=("torch",))

The subject (this project's engine, any micrograd-style class given as ``engine``, or any callable
given as ``subject``) and every named backend are measured against the exact SymPy oracle.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from autodiff import Value
from reference.backends import Backend, EngineBackend, OracleBackend, load_class, make_backends
from reference.backends.callable_subject import SubjectBackend
from reference.backends.pytorch import torch_hessian
from reference.core.formatting import fmt
from reference.corpus.cases import CORPUS, Case, Point, select, variables_of
from reference.corpus.parser import ExpressionError, parse, to_case
from reference.judging.gradcheck import SKIP, Check, api_checks
from reference.judging.judge import AGREE, CONVENTION, UNDEFINED
from reference.judging.summary import describe_backends, exit_status, summarize
from reference.output import wording
from reference.output.pictures import draw, engine_graph, render_problem
from reference.output.report import versions, write_report
from reference.running.harness import run_case
from reference.subject.diagnose import FAILING_KINDS
from reference.subject.explain import num, off_by
from reference.subject.load import EngineSpec, parse_spec, spec_by_value
from reference.subject.ops import ops as subject_ops
from reference.subject.worker import Failure

DEFAULT_REFERENCES = ("torch", "sympy", "fd-central")  # what a check compares the subject with, unless told
_RECORDERS: list[list[dict]] = []  # the pytest plugin's collectors of records
PASSING = (AGREE, CONVENTION, UNDEFINED)  # for the subject; a reference's finding never fails the check


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

    ``order=2`` also compares Hessians (each backend's ``_hessian``, judged by ``judge(..., order=2)``):
    the subject's (the engine's by reverse over reverse; a callable's ``.hessian(*values)`` or third
    return value; ``torch_subject`` has one) and the named backends' against the exact one, entry by
    entry, both mixed orders kept.
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


# -- the whole check of another engine (adcheck run --engine) on a class object ---------------------------
@dataclass(repr=False)
class EngineCheck:
    """The answer of :func:`check_engine`: verdict, findings and where the report is."""

    label: str
    exit_status: int
    diagnosis: list[dict]
    report: Path
    subject: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict, repr=False)
    pictures: dict = field(default_factory=dict, repr=False)  # finding index -> (expression, SVG of its graph)

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def json_path(self) -> Path:
        return self.report.with_name("conformance.json")

    @property
    def verdict(self) -> str:
        if self.exit_status == 3:
            why = self.subject.get("broken") or "nothing ran"
            return f"{self.label}: could not be checked: {why}"
        if self.exit_status == 1:
            blamed = sorted({d["op"] for d in self.diagnosis if d.get("op") and d["kind"] in FAILING_KINDS})
            return f"{self.label}: WRONG" + (f": the diagnosis blames {', '.join(blamed)}" if blamed else "")
        return f"{self.label}: right everywhere it ran"

    def findings(self) -> list[str]:
        """Each finding in plain words, with the place in the learner's code (cell and line in a notebook)."""
        # the terminal's words: the headline names the place once, the sentence follows
        return [wording.finding_lines(d, markdown=False, evidence=0)[0] for d in self.diagnosis]

    def __str__(self) -> str:
        return "\n".join([self.verdict, *self.findings(), f"report: {self.report}"])

    __repr__ = __str__  # what a notebook shows as plain text

    def _repr_markdown_(self) -> str:
        cell = lambda x: str(x).replace("|", "\\|")
        out = [f"**{cell(self.verdict)}**", ""]
        out += [f"- {cell(line)}" for line in self.findings()]
        lacks = self.subject.get("lacks") or {}
        if lacks:
            out += ["", f"Not checked (the class lacks them): {', '.join(lacks)}"]
        return "\n".join(out + ["", f"Report: `{self.report}`"])

    def _repr_html_(self) -> str:
        import html
        color = "#1b5e20" if self.ok else "#b00020"
        out = [f'<p style="color:{color}"><b>{html.escape(self.verdict)}</b></p>']
        if self.diagnosis:
            items = []
            for i, line in enumerate(self.findings()):
                item = html.escape(line)
                if i in self.pictures:
                    expression, svg = self.pictures[i]
                    item += (f"<br><small>the engine's own graph of <code>{html.escape(expression)}</code>, each "
                             f"gradient beside the true one (wrong ones red):</small><br>{svg}")
                items.append(f"<li>{item}</li>")
            out.append("<ul>" + "".join(items) + "</ul>")
        lacks = self.subject.get("lacks") or {}
        if lacks:
            out.append(f"<p>Not checked (the class lacks them): {html.escape(', '.join(lacks))}</p>")
        out.append(f"<p>Report: <code>{html.escape(str(self.report))}</code></p>")
        return "\n".join(out)


def _engine_spec_of(cls, timeout: float, grad_attr, backward_method) -> EngineSpec:
    """How the worker gets the class: by its file (a module on disk), else by value (a notebook's ``__main__``)."""
    if isinstance(cls, EngineSpec):
        return cls
    if isinstance(cls, str):
        return parse_spec(cls, grad_attr, backward_method, timeout=timeout)
    if not isinstance(cls, type):
        raise TypeError(f"check_engine wants a class (or 'MODULE:CLASS'), got {type(cls).__name__}")
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None) or ""
    if (cls.__module__ != "__main__" and file.endswith(".py") and getattr(module, cls.__name__, None) is cls
            and Path(file).is_file()):
        return parse_spec(f"{file}:{cls.__name__}", grad_attr, backward_method, timeout=timeout)
    return spec_by_value(cls, timeout, grad_attr, backward_method)


def _in_a_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def check_engine(cls, out: str | Path = "reports", backends: Sequence[str] = ("engine",), grad_attr=None,
                 backward_method=None, timeout: float = 5.0, budget: float | None = 60.0,
                 progress: bool | None = None) -> EngineCheck:
    """The whole check of ``adcheck run --engine`` on a class: probes, the corpus, the diagnosis, the report.

    ``cls`` is a micrograd-style class (one defined in a notebook included: it travels to an isolated
    worker by value, and findings name its cell and line), or ``'MODULE:CLASS'``. ``backends``: what
    the report shows beside the engine (the verdicts on the engine need only the exact oracle).
    A progress bar shows in a notebook (``progress=None``); elsewhere the check is quiet.
    """
    spec = _engine_spec_of(cls, timeout, grad_attr, backward_method)
    names = tuple(dict.fromkeys(("engine", *backends)))
    made = make_backends(list(names), spec)
    engine = next(b for b in made if b.name == "engine")
    subject = engine.engine
    label = f"{spec.cls} ({subject.file})" if subject.file else spec.cls
    show = _in_a_notebook() if progress is None else progress
    bar = None
    if show:
        try:
            import ipywidgets  # noqa: F401  (tqdm's notebook bar needs it)
            from tqdm.notebook import tqdm
        except ImportError:  # a text bar, redrawn in place by the notebook
            from tqdm import tqdm
        bar = tqdm(total=len(CORPUS) + 1, desc=f"adcheck {spec.cls}", unit="step", leave=False)
    pictures = {}
    try:
        subject.prepare()
        if bar is not None:
            bar.update(1)
        records = []
        for case in CORPUS:
            records += run_case(case, made, budget)
            if bar is not None:
                bar.update(1)
        for i, d in enumerate(subject.diagnosis()[:3]):
            picture = _failing_graph(subject, d) if d["kind"] in ("rule", "graph") else None
            if picture is not None:
                pictures[i] = picture
    finally:
        if bar is not None:
            bar.close()
        subject.close()
    summary = summarize(records)
    meta = {"engine": engine.label, "oracle": OracleBackend.method, "backends": describe_backends(made),
            "versions": versions(), "selection": "all", "budget_seconds": budget,
            "subject": subject.subject_dict(records), "diagnosis": subject.diagnosis()}
    meta["subject"]["coverage"] = {**summary.get("coverage", {}), "probes": dict(subject.probes)}
    if spec.path or spec.module:
        meta["reproduce"] = " ".join(["adcheck", "run", *spec.options])
    out = Path(out)
    write_report(out, summary, meta, records)
    status = exit_status(summary)
    if subject.broken:
        status = 3
    elif subject.bug_found and status != 3:
        status = 1
    return EngineCheck(label, status, meta["diagnosis"], out / "conformance.md", meta["subject"], summary, pictures)


_SMALLEST = re.compile(r"smallest failing graph: (.+?)(?:;|$)")
_AT = {"a": 0.5, "b": 1.3, "c": 0.8, "x": 0.5, "y": 1.3}


def _failing_graph(subject, finding) -> tuple[str, str] | None:
    """(expression, SVG) of the smallest graph showing a finding: the engine's nodes, true gradients beside."""
    found = _SMALLEST.search(finding.get("summary", ""))
    op = finding.get("op")
    if found:
        expression = found.group(1).strip()
    elif op:
        info = subject_ops().get(op)
        if info is None:
            return None
        if info.operator == "neg":
            expression = "-a * b"
        elif info.operator:
            expression = f"a {info.operator} {3 if info.params else 'b'}" if info.arity == 2 or info.params else None
        else:
            expression = f"{op}(a)" if info.arity == 1 else f"{op}(a, b)"
        if expression and info.arity == 1 and not info.operator:
            expression += " * b"  # an upstream gradient other than 1
    else:
        return None
    if not expression:
        return None
    try:
        variables = parse(expression)[0]
        case = to_case(expression, {v: _AT.get(v, 0.7) for v in variables})
    except ExpressionError:
        return None
    graph = engine_graph(subject, case, case.points[0].values)  # the report's picture, drawn the same way
    if isinstance(graph, Failure) or not graph["nodes"] or render_problem():
        return None  # the words say it all
    svg = draw(graph).pipe(format="svg").decode("utf-8")
    return expression, svg[svg.find("<svg"):]


__all__ = ["DEFAULT_REFERENCES", "Comparison", "EngineCheck", "SubjectBackend", "assert_gradients_agree",
           "check_engine", "check_gradients", "corpus_params", "torch_subject"]
