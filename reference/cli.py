"""The ``adcheck`` command: run, check, study, graph, train, bench, list, fuzz, atlas.

Heavy imports (torch, SymPy) happen only inside the commands that use them, after every
argument has been checked: a typo is answered at once, and ``graph`` and ``list`` (but for
``list backends``) never load them.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from reference import __version__

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_UNCHECKED, EXIT_INTERNAL = 0, 1, 2, 3, 4
# The names of reference.backends.BACKENDS, in its order (a test keeps them equal): known here
# without importing the backends, which load torch and SymPy.
BACKEND_NAMES = ("engine", "forward", "torch", "sympy", "fd-forward", "fd-central", "fd-five-point",
                 "fd-richardson", "fd-complex-step", "jax", "autograd", "mygrad", "tinygrad")
MAX_BUDGET = 86400.0  # one day of SymPy work per case is already absurd


class UsageError(Exception):
    """Bad usage or bad input: one line for the user, exit status 2."""


def _backend_names(text: str | None):
    if not text:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("--backends needs at least one name")
    unknown = [n for n in names if n not in BACKEND_NAMES]
    if unknown:
        raise UsageError(f"unknown backend {unknown[0]!r}; known: {', '.join(BACKEND_NAMES)}")
    return names


def _budget(text: str) -> float:
    """--budget: seconds of SymPy work per case, a positive finite number of at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_BUDGET:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 and at most {MAX_BUDGET:g}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return value


def _point(args) -> dict:
    from reference.corpus.parser import ExpressionError, parse_point
    try:
        return parse_point(args.at)
    except ExpressionError as err:
        raise UsageError(str(err)) from None


def _expression_case(expression: str, at: dict):
    """The one-point case of an expression (parsed by the whitelist, never eval'd); UsageError if bad."""
    from reference.corpus.parser import ExpressionError, to_case
    try:
        return to_case(expression, at)
    except ExpressionError as err:
        raise UsageError(str(err)) from None


def _progress(what: str, unit: str = ""):
    from reference.core.progress import Progress
    return Progress(what, unit=unit)


def _scheduler_check(args) -> str | None:
    """--scheduler ADDRESS: a reachable Dask scheduler (checked before any work starts), or one line and exit 2."""
    address = getattr(args, "scheduler", None)
    if not address:
        return None
    from reference.running.distributed import SchedulerError, connect
    try:
        connect(address, timeout=3.0).close()
    except SchedulerError as err:
        raise UsageError(str(err)) from None
    return address


def _engine_spec(args):
    """The engine under test from --engine and its adapter options (None: this project's engine)."""
    engine = getattr(args, "engine", None)
    extra = [f for f in ("grad_attr", "backward_method", "functions", "path") if getattr(args, f, None)]
    if not engine:
        if extra:
            raise UsageError(f"--{extra[0].replace('_', '-')} needs --engine")
        return None
    from reference.subject.load import check_class_defined, parse_spec  # no torch, no SymPy, no import of the engine
    try:
        spec = parse_spec(engine, getattr(args, "grad_attr", None), getattr(args, "backward_method", None),
                          getattr(args, "functions", None), getattr(args, "engine_timeout", 5.0),
                          path=getattr(args, "path", None) or ())
        check_class_defined(spec)
        return spec
    except ValueError as err:
        raise UsageError(str(err)) from None


def _with_engine(names, spec):
    """Backend names; with --engine the engine is always among them (said on stderr if added)."""
    if spec is not None and names is not None and "engine" not in names:
        print(f"adcheck: --engine given: the engine ({spec.text}) is checked too, beside {', '.join(names)}",
              file=sys.stderr)
        names = ("engine", *names)
    return names


def _make_backends(names, engine):
    from reference.backends import DEFAULT_BACKENDS, make_backends
    try:
        return make_backends(names or DEFAULT_BACKENDS, engine)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _subject_lines(subject, summary) -> list[str]:
    """What adcheck tested and found, for the terminal."""
    cov = summary.get("coverage", {})
    lines = [f"checked {subject.class_name} from {subject.file}: ran {cov.get('records_run', 0)} of "
             f"{cov.get('records', 0)} records ({cov.get('cases_run', 0)} of {cov.get('cases', 0)} cases), "
             f"{subject.probes.get('ran', 0)} probes"]
    if subject.lacks:
        plain = [op for op, why in subject.lacks.items() if why.startswith("no method")]
        other = [f"{op} ({why})" for op, why in subject.lacks.items() if not why.startswith("no method")]
        lines.append(f"{subject.class_name} lacks: " + "; ".join(
            other + ([f"{', '.join(plain)} (no such method)"] if plain else [])))
    said = ("not Python", "the package ")  # a notebook's skipped lines, a package named like one of ours
    lines += [f"{subject.class_name}: {n}" for n in subject.detected.get("notes", []) if n.startswith(said)]
    for form, why in subject.lifted.items():
        lines.append(f"{subject.class_name}: {form}: {why} (still checked)")
    from reference.output.wording import prose, terminal_lines
    lines += [f"hint: {prose(hint)}" for hint in subject.hints]
    return lines + terminal_lines(subject.diagnosis())


def cmd_run(args) -> int:
    spec = _engine_spec(args)
    names = _with_engine(_backend_names(args.backends), spec)
    scheduler = _scheduler_check(args)
    from reference.corpus.cases import CORPUS, select
    cases = select(args.only, CORPUS)
    if not cases:
        raise UsageError(f"--only {args.only!r} matches no case (`adcheck list cases` and `adcheck list tags` "
                         "show what there is)")
    # every argument is checked: from here on torch and SymPy load
    from reference.backends import OracleBackend
    from reference.judging.summary import exit_status, summarize
    from reference.output.report import versions, write_report
    from reference.running.harness import describe_backends, run

    options = {"order": args.order, "scheduler": scheduler}
    backends = _make_backends(names, spec)
    start = time.perf_counter()
    engine = next((b for b in backends if b.name == "engine"), None)
    subject = engine.engine if engine is not None else None
    if subject is not None:
        subject.prepare()  # load, probe every op by form, diagnose: before the corpus
    records = []
    with _progress("run", "cases") as progress:
        for batch in run(cases, [b.name for b in backends], spec, args.workers, args.budget, progress, **options):
            records.extend(batch)
    summary = summarize(records)
    meta = {"engine": engine.label if engine else "(not run)", "oracle": OracleBackend.method,
            "backends": describe_backends(backends), "versions": versions(),
            "selection": args.only or "all", "budget_seconds": args.budget}
    if args.order != 1:
        meta["order"] = args.order
    if subject is not None:
        meta["subject"] = subject.subject_dict(records)
        meta["subject"]["coverage"] = {**summary.get("coverage", {}), "probes": dict(subject.probes)}
        meta["diagnosis"] = subject.diagnosis()
        meta["reproduce"] = " ".join(["adcheck", "run", *spec.options])
        if engine.missing:
            meta["engine_lacks"] = engine.missing
    out = Path(args.out)
    pictures = {}
    if subject is not None and not subject.broken:
        from reference.output.pictures import finding_pictures
        from reference.output.wording import is_problem, simplest
        pictures = finding_pictures(subject, meta["diagnosis"])
        if not any(is_problem(d) for d in meta["diagnosis"]):  # failures the probes did not explain: where they raise
            for r in simplest(summary["subject_failures"])[:3]:
                if r.get("status") != "ok" and r.get("kind") == "raises":
                    where = subject.call("locate", None, None, r["case"], tuple(r["point"].values()))
                    if isinstance(where, dict):
                        r["where"] = where
    write_report(out, summary, meta, records, pictures)
    status = _subject_exit(exit_status(summary, getattr(args, "strict", False)), subject)
    print(_verdict_line(meta, summary, status))
    mine: dict[str, int] = {}
    for b in summary.get("subject_backends", []):
        for v, n in summary["counts"][b].items():
            if n:
                mine[v] = mine.get(v, 0) + n
    from reference.output.wording import counts_line
    print(f"{summary['records']} records in {time.perf_counter() - start:.1f} s; the subject's: "
          + ", ".join(f"{n} {v}" for v, n in mine.items()) + f". Wrote {out / 'conformance.md'}")
    print(f"Not failures: {counts_line(summary)}.")
    if subject is not None:
        from reference.output.wording import unexplained
        print("\n".join(_subject_lines(subject, summary) + unexplained(summary["subject_failures"],
                                                                        meta["diagnosis"])))
        subject.close()
    return status


def _verdict_line(meta: dict, summary: dict, status: int) -> str:
    """The one line that answers "is it right?": the subject, and pass, fail (with the ops blamed) or unchecked."""
    who = meta.get("engine", "the engine")
    blamed = sorted({d["op"] for d in meta.get("diagnosis") or [] if d.get("op") and d["kind"] not in
                     ("precision", "convention")})
    if status == EXIT_UNCHECKED:
        return f"{who}: could not be checked (nothing ran)"
    if status == EXIT_MISMATCH:
        what = (f"{len(summary['subject_failures'])} failure(s)" if summary["subject_failures"]
                else "the op probes found a bug")
        return f"{who}: WRONG: {what}" + (f"; the diagnosis blames {', '.join(blamed)}" if blamed else "")
    raises = f" ({len(summary['subject_raises'])} raise(s) at domain edges: float semantics)" \
        if summary["subject_raises"] else ""
    return f"{who}: right everywhere it ran{raises}"


def _subject_exit(status: int, subject) -> int:
    """The run's status, with what the probes found: a broken engine is 3, a diagnosed bug is 1."""
    if subject is None:
        return status
    if subject.broken:
        return EXIT_UNCHECKED
    if subject.bug_found and status != EXIT_UNCHECKED:
        return EXIT_MISMATCH
    return status


def check_result(expression: str, at: dict, backend_names=None, engine=None,
                 budget: float | None = 60.0, strict: bool = False, order: int = 1) -> dict:
    """``adcheck check`` as data: the JSON of DESIGN.md (with "subject" and "diagnosis" for another engine).

    With ``order=2`` the oracle and each backend with a second-order method also carry
    ``"hessian": {x: {y: H}}`` (``H[x][y]`` is d/dy of df/dx), with its own verdict.
    """
    case = _expression_case(expression, at)
    from reference.judging.summary import exit_status, overall_verdict, summarize
    from reference.running.harness import run_case
    options = {"order": order}
    backends = _make_backends(backend_names, engine)
    subject = next((b.engine for b in backends if b.name == "engine" and b.engine is not None), None)
    if subject is not None:
        subject.prepare()
    records = run_case(case, backends, budget, **options)
    first_order = [r for r in records if r.get("order", 1) == 1]
    second = [r for r in records if r.get("order") == 2]
    first = first_order[0]
    doc = {
        "expression": case.name,
        "point": first["point"],
        "oracle": {"value": first["oracle_value"], "grad": first["oracle_grad"]},
        "backends": {r["backend"]: {"status": r["status"], "verdict": r["verdict"], "value": r["value"],
                                    "grad": r["grad"], "max_rel_err": r["max_rel_err"], "tolerance": r["tolerance"],
                                    **({"note": r["note"]} if r["note"] else {}),
                                    **({"message": r["message"]} if r["message"] else {})}
                     for r in first_order},
        "verdict": overall_verdict(records),
    }
    if order == 2:
        doc["order"] = 2
        doc["oracle"]["hessian"] = second[0]["oracle_hessian"] if second else {}
        for r in second:
            entry = doc["backends"].setdefault(r["backend"], {"status": r["status"], "verdict": r["verdict"]})
            entry.update({"hessian": r["hessian"], "hessian_verdict": r["verdict"],
                          "hessian_max_rel_err": r["max_rel_err"],
                          **({"hessian_note": r["note"] or r["message"]} if (r["note"] or r["message"]) else {})})
    summary = summarize(records)
    status = _subject_exit(exit_status(summary, strict), subject)
    if subject is not None:
        doc["subject"] = subject.subject_dict(records)
        doc["subject"]["coverage"] = {**summary.get("coverage", {}), "probes": dict(subject.probes)}
        doc["diagnosis"] = subject.diagnosis()
        subject.close()
        from reference.output.wording import subject_kink_note
        mine = doc["backends"].get("engine") or {}
        if mine.get("note"):
            mine["note"] = subject_kink_note(mine["note"])
        if status == EXIT_MISMATCH and doc["verdict"] != "mismatch":
            # this expression came out right, but the engine's op probes did not: the engine is wrong
            blamed = sorted({d["op"] for d in doc["diagnosis"] if d.get("op") and d["kind"] not in
                             ("precision", "convention")})
            doc["verdict"] = "mismatch"
            doc["verdict_note"] = ("this expression agrees, but the op probes found a bug"
                                   + (f" in {', '.join(blamed)}" if blamed else "") + " (see diagnosis)")
    doc["exit_status"] = status
    return doc


def _hessian_table(result: dict) -> str:
    """The Hessians of ``check --order 2``: one row per backend, one column per entry H[x][y]."""
    from tabulate import tabulate
    names = list(result["point"])
    pairs = [(a, b) for a in names for b in names]

    def cell(h, a, b):
        x = (h or {}).get(a, {}).get(b, "")
        return f"{x:.10g}" if isinstance(x, float) else str(x)

    rows = [["oracle", "", *[cell(result["oracle"].get("hessian"), a, b) for a, b in pairs], ""]]
    for name, entry in result["backends"].items():
        if "hessian_verdict" in entry:
            rows.append([name, entry["hessian_verdict"], *[cell(entry["hessian"], a, b) for a, b in pairs],
                         entry.get("hessian_note", "")])
    return ("Hessian, H[x][y] = d/dy (df/dx):\n\n"
            + tabulate(rows, ["backend", "verdict", *[f"{a}{b}" for a, b in pairs], "note"], tablefmt="simple",
                       disable_numparse=True) + "\n")


def cmd_check(args) -> int:
    at = _point(args)
    _expression_case(args.expression, at)  # a bad expression is answered before anything heavy loads
    spec = _engine_spec(args)
    names = _with_engine(_backend_names(args.backends), spec)
    result = check_result(args.expression, at, names, spec, budget=args.budget,
                          strict=getattr(args, "strict", False), order=args.order)
    status = result.pop("exit_status")
    from reference.output.report import check_table, dumps
    if args.json:
        print(dumps(result))
    else:
        text = check_table(result)
        if args.order == 2:
            text += "\n" + _hessian_table(result)
        print(text, end="")
        from reference.output.wording import prose, terminal_lines
        lines = [f"hint: {prose(h)}" for h in (result.get("subject") or {}).get("hints", [])]
        lines += terminal_lines(result.get("diagnosis", []), report="check --json")
        if lines:
            print("\n".join(lines))
    return status


def _output_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower().lstrip(".") not in ("svg", "png", "pdf", "dot", "gv"):
        raise UsageError(f"-o {path}: the name must end in .svg, .png, .pdf or .dot")
    if not path.parent.is_dir():
        raise UsageError(f"-o {path}: no folder {path.parent}")
    return path


def _write_graph(dot, path: Path) -> None:
    from autodiff.draw import write_graph
    try:
        write_graph(dot, path)
    except (ImportError, RuntimeError, ValueError) as err:
        raise UsageError(str(err)) from None


def cmd_graph(args) -> int:
    """The graph of an expression after backward: this project's engine, or (--engine) the subject's own."""
    at = _point(args)
    path = _output_path(args.output)
    if args.engine or any(getattr(args, f, None) for f in ("grad_attr", "backward_method", "functions", "path")):
        return _graph_of_engine(args, at, path)
    from autodiff import Value, draw_dot
    from autodiff.engine import VALUE_MATH
    from reference.corpus.parser import ExpressionError, parse
    try:
        variables, compiled = parse(args.expression)
    except ExpressionError as err:
        raise UsageError(str(err)) from None
    _expression_case(args.expression, at)  # every variable given, none extra
    env = {v: Value(at[v], label=v) for v in variables}
    out = compiled(VALUE_MATH, env)
    if not isinstance(out, Value):
        raise UsageError("the expression has no variables: there is no graph to draw")
    out.label = "out"
    out.backward()
    _write_graph(draw_dot(out, rankdir=args.rankdir), path)
    print(f"wrote {path}")
    return EXIT_OK


def _graph_of_engine(args, at: dict, path: Path) -> int:
    """``graph --engine``: the engine's own nodes with their gradients beside the true adjoints, wrong ones red."""
    spec = _engine_spec(args)
    case = _expression_case(args.expression, at)
    if not case.variables:
        raise UsageError("the expression has no variables: there is no graph to draw")
    point = case.points[0].values
    from reference.output.pictures import draw, engine_graph, first_wrong_words
    from reference.subject.session import Subject
    from reference.subject.worker import Failure
    subject = Subject.from_spec(spec)
    try:
        subject.prepare(diagnose_too=False)
        if subject.broken:
            print(f"adcheck: {subject.class_name} from {subject.file} could not be used: {subject.broken}",
                  file=sys.stderr)
            return EXIT_UNCHECKED
        got = engine_graph(subject, case, point)
    finally:
        subject.close()
    if isinstance(got, Failure):
        if got.kind == "unsupported":
            print(f"adcheck: {subject.class_name} cannot build {case.name}: {got.message}", file=sys.stderr)
            return EXIT_UNCHECKED
        print(f"adcheck: {subject.class_name} failed on {case.name}: {got.kind}: {got.message}", file=sys.stderr)
        return EXIT_MISMATCH
    nodes, wrong = got["nodes"], got["wrong"]
    if not nodes:
        raise UsageError("the expression has no variables: there is no graph to draw")
    _write_graph(draw(got, rankdir=args.rankdir), path)
    checked = sum("true_grad" in n for n in nodes)
    print(f"wrote {path}: the graph of {subject.class_name} from {subject.file}, {len(nodes)} nodes, "
          f"{checked} with a true gradient beside their own")
    if not got.get("readable"):
        print(f"{subject.class_name}'s nodes do not name their inputs (looked for _prev, prev, _children, "
              f"_parents): only the output is drawn")
    if wrong:
        print(f"{len(wrong)} of {checked} nodes have a wrong gradient (red). {first_wrong_words(nodes, wrong[-1])}")
        return EXIT_MISMATCH
    print("every gradient matches the true adjoint")
    return EXIT_OK


def _project_value():
    from autodiff import Value
    return Value


def cmd_fuzz(args) -> int:
    if args.budget is not None:
        raise UsageError("fuzz: the number of expressions is now --count N; --budget means seconds of SymPy "
                         "work per case (in run and check)")
    spec = _engine_spec(args)
    scheduler = _scheduler_check(args)
    from reference.tools.fuzz import fuzz, write
    with _progress("fuzz", "expressions") as progress:
        result = fuzz(args.count, args.seed, args.workers, spec, progress=progress, scheduler=scheduler)
    path = write(result, Path(args.out))
    rate = args.count / result["seconds"] if result["seconds"] > 0 else float("inf")
    ran = f"; the engine ran {result['ran']} of {result['checked']}" if spec is not None else ""
    print(f"{args.count} expressions in {result['seconds']:.1f} s ({rate:.1f}/s){ran}: "
          f"{len(result['findings'])} disagreement(s). Wrote {path}")
    if spec is not None and result["checked"] and not result["ran"]:
        return EXIT_UNCHECKED
    return EXIT_MISMATCH if result["findings"] else EXIT_OK


def cmd_study(args) -> int:
    from autodiff import RULES
    unknown = [op for op in args.ops if op not in RULES]
    if unknown:
        raise UsageError(f"unknown op {unknown[0]!r}; ops: {', '.join(RULES)}")
    from reference.output.study import write_study
    with _progress("study", "ops") as progress:
        paths = write_study(args.ops or None, Path(args.out), progress=progress)
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


def cmd_train(args) -> int:
    from reference.output.training import TOLERANCE
    from reference.output.training import main as train_main
    with _progress("train", "runs") as progress:
        runs = train_main(Path(args.out), args.epochs, progress=progress)
    for r in runs:
        s = r.setting
        batch = "full batch" if s.batch_size is None else f"batch {s.batch_size}"
        print(f"{s.dataset:10} {s.optimizer:8} {batch:10} loss {r.engine_loss[-1]:.4g}  largest difference "
              f"to torch: loss {max(r.loss_diff):.1e}, parameters {max(r.param_diff):.1e}  "
              f"({1e3 * r.engine_seconds / s.epochs:.1f} ms/epoch, torch {1e3 * r.torch_seconds / s.epochs:.1f})")
    print(f"wrote {Path(args.out) / 'training' / 'training.md'}")
    return EXIT_OK if all(r.worst <= TOLERANCE for r in runs) else EXIT_MISMATCH


def cmd_atlas(args) -> int:
    """Every registry op at every point through every AD system: atlas.md, atlas.json and atlas.svg."""
    from reference.output.atlas import write_atlas
    start = time.perf_counter()
    with _progress("atlas", "cases") as progress:
        doc, paths = write_atlas(Path(args.out), args.order, progress=progress)
    missing = [f"{n} ({s['reason']})" for n, s in doc["systems"].items() if s.get("reason")]
    print(f"{len(doc['ops'])} ops through {len(doc['systems'])} systems in {time.perf_counter() - start:.1f} s: "
          f"{len(doc['findings'])} finding(s), {len(doc['partings'])} point(s) where the systems part. "
          f"Wrote {', '.join(str(p) for p in paths)}")
    if missing:
        print("could not run: " + "; ".join(missing))
    return EXIT_OK


LISTS = ("cases", "tags", "ops", "backends")


def cmd_list(args) -> int:
    """What can be selected, one per line."""
    if args.what == "cases":
        from reference.corpus.cases import CORPUS
        lines = [c.name for c in CORPUS]
    elif args.what == "tags":
        from reference.corpus.cases import CORPUS
        lines = sorted({t for c in CORPUS for t in c.all_tags})
    elif args.what == "ops":
        from autodiff import RULES
        lines = list(RULES)
    else:  # == reference.backends.BACKENDS (a test says so), without loading torch or the other systems
        from reference.core.systems import SYSTEMS, describe
        lines = [f"{name:<16}{describe(name)}" if name in SYSTEMS else name for name in BACKEND_NAMES]
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return EXIT_OK


def _engine_options(p, strict: bool = True) -> None:
    p.add_argument("--engine", metavar="MODULE:CLASS",
                   help="check another engine: MODULE:CLASS (pkg.mod:CLASS inside a package), path/to/file.py:CLASS "
                        "or NOTEBOOK.ipynb:CLASS")
    p.add_argument("--path", action="append", metavar="DIR",
                   help="a folder to find the --engine module in (a package's root), before the current folder "
                        "and PYTHONPATH; may be repeated")
    p.add_argument("--grad-attr", metavar="NAME", help="the attribute holding a node's gradient (default: found)")
    p.add_argument("--backward-method", metavar="NAME", help="the method that runs backpropagation (default: found)")
    p.add_argument("--functions", metavar="MODULE",
                   help="a module (or .py file) whose functions are ops: tanh(v), ln(v)")
    p.add_argument("--engine-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="time budget of the engine per case and point (default 5)")
    if strict:
        p.add_argument("--strict", action="store_true",
                       help="a raise where IEEE doubles give inf/nan fails the run too")


BACKENDS_HELP = f"comma-separated backend names (default: all): {', '.join(BACKEND_NAMES)}"
BUDGET_HELP = "seconds of SymPy work per case (default 60)"


def _order_option(p) -> None:
    p.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2 also compares Hessians, entry by entry (default 1: gradients)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and the way to more help), not the whole usage text."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="adcheck", description="Automatic and symbolic differentiation side by side.")
    parser.add_argument("--version", action="version", version=f"adcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="the conformance harness: every case through every backend")
    p.add_argument("--out", default="reports", help="folder for conformance.md and .json (default: reports)")
    p.add_argument("--backends", help=BACKENDS_HELP)
    _engine_options(p)
    p.add_argument("--only", metavar="PATTERN", help="cases whose name contains PATTERN or with tag PATTERN "
                                                     "(see adcheck list cases / adcheck list tags)")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel worker processes (same output)")
    p.add_argument("--budget", type=_budget, default=60.0, metavar="SECONDS", help=BUDGET_HELP)
    _order_option(p)
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the cases on a Dask distributed cluster "
                                                          "(e.g. tcp://127.0.0.1:8786)")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser("check", help="one expression through every backend")
    p.add_argument("expression", help="e.g. 'tanh(x*y) + x**2' (a leading minus is fine: '-x')")
    p.add_argument("--at", required=True, help="the point, e.g. x=0.5,y=-1")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--backends", help=BACKENDS_HELP)
    p.add_argument("--budget", type=_budget, default=60.0, metavar="SECONDS", help=BUDGET_HELP)
    _order_option(p)
    _engine_options(p)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("graph", help="the computation graph of an expression, after backward (engine only: "
                                     "no torch, no SymPy)")
    p.add_argument("expression", help="e.g. 'tanh(x1*w1 + x2*w2 + b)'")
    p.add_argument("--at", required=True, help="the point, e.g. x=0.5,y=-1")
    p.add_argument("-o", "--output", required=True, help="FILE.svg, .png, .pdf or .dot")
    p.add_argument("--rankdir", default="LR", choices=["LR", "TB", "RL", "BT"])
    _engine_options(p, strict=False)
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("train", help="train the same MLPs with the engine and PyTorch; compare every epoch")
    p.add_argument("--epochs", type=_positive_int, default=100)
    p.add_argument("--out", default="reports", help="folder that gets training/ (default: reports)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("study", help="the per-operation study: one page per primitive op under reports/ops/")
    p.add_argument("ops", nargs="*", metavar="OP", help="ops to study (default: all; see adcheck list ops)")
    p.add_argument("--out", default="reports", help="folder that gets ops/ (default: reports)")
    p.set_defaults(run=cmd_study)

    p = sub.add_parser("fuzz", help="random expressions through engine, torch and SymPy")
    p.add_argument("--count", type=_positive_int, default=200, metavar="N", help="how many expressions (default 200)")
    p.add_argument("--budget", default=None, help=argparse.SUPPRESS)  # renamed --count: a one-line hint
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=_positive_int, default=1)
    p.add_argument("--scheduler", metavar="ADDRESS", help="check the expressions on a Dask distributed cluster")
    _engine_options(p)
    p.add_argument("--out", default="reports", help="folder for fuzz.md (default: reports)")
    p.set_defaults(run=cmd_fuzz)

    p = sub.add_parser("atlas", help="every op at every edge through every AD system (engine, torch, jax, autograd, "
                                     "mygrad, tinygrad) beside the oracle: atlas.md, .json, .svg")
    p.add_argument("--order", type=int, choices=(1, 2), default=2, help="2 (default) adds the second derivatives")
    p.add_argument("--out", default="reports", help="folder for atlas.md, atlas.json and atlas.svg (default: reports)")
    p.set_defaults(run=cmd_atlas)

    p = sub.add_parser("list", help="what can be selected, one per line: cases, tags, ops or backends")
    p.add_argument("what", choices=LISTS)
    p.set_defaults(run=cmd_list)

    sub.add_parser("bench", help="benchmarks against micrograd and torch (adcheck bench --help)")
    return parser


def _leading_minus(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``adcheck check -x --at x=1``: an expression that starts with '-' is not an option.

    The first argument of ``check``/``graph`` that starts with a single '-', is not one of the
    command's options and is not an option's value, is the expression: it is moved behind ``--``.
    """
    if not argv or argv[0] not in ("check", "graph") or "--" in argv:
        return argv
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[argv[0]]
    takes_value = {s for a in sub._actions for s in a.option_strings if a.nargs != 0}
    known = {s for a in sub._actions for s in a.option_strings}
    rest, expression, skip = [], None, False
    for token in argv[1:]:
        if skip:
            rest.append(token)
            skip = False
            continue
        if token in takes_value:
            skip = True
        elif (expression is None and token.startswith("-") and not token.startswith("--") and len(token) > 1
              and token not in known and not any(token.startswith(k) for k in known if k.startswith("-") and
                                                  not k.startswith("--") and len(k) == 2 and k in takes_value)):
            expression = token
            continue
        rest.append(token)
    if expression is None:
        return argv
    return [argv[0], *rest, "--", expression]


def _unshadow() -> None:
    """`python -m reference` puts the current folder first on sys.path, where a learner's autodiff.py
    would shadow this project's package: drop it (an engine in the current folder is loaded by path)."""
    import os
    here = os.getcwd()
    front = [p for p in sys.path[:1] if p in ("", here)]
    if front and "autodiff" not in sys.modules:
        del sys.path[0]


def main(argv: list[str] | None = None) -> int:
    _unshadow()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # the benchmark parses its own options
        from reference.bench.page import main as bench_main
        return _guarded(lambda: bench_main(argv[1:]))
    parser = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        args = parser.parse_args(_leading_minus(parser, argv))
    except SystemExit as stop:  # argparse exits 2 on bad usage, 0 on --help/--version
        return int(stop.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _guarded(lambda: args.run(args), getattr(args, "out", None))


def _quiet_broken_pipe() -> int:
    """The reader went away (``adcheck check --json | head``): stop quietly, as a killed pipe writer does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the final flush at exit cannot complain again
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE


def _internal_error(err: BaseException, out=None) -> int:
    """A bug of adcheck itself: the traceback to a file (in --out if it can be written, else the temp dir),
    one line naming the error and the file, exit status 4."""
    import tempfile
    import traceback
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    path = None
    for folder in ((out,) if out else ()) + (tempfile.gettempdir(),):
        try:
            os.makedirs(folder, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix="adcheck-traceback-", suffix=".txt", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            break
        except OSError:
            path = None
    first = (str(err).strip().splitlines() or [""])[0]
    where = f"; the traceback is in {path}" if path else ""
    print(f"adcheck: internal error: {type(err).__name__}{': ' + first if first else ''}{where} "
          "(a bug of adcheck, not of the engine under test)", file=sys.stderr)
    return EXIT_INTERNAL


def _guarded(action, out=None) -> int:
    """Run a command: bad input and interrupts become one line and an exit status; a bug of adcheck
    itself (any other exception) one line and exit status 4."""
    try:
        status = action()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except SystemExit as stop:
        return int(stop.code or 0)
    except UsageError as err:
        print(f"adcheck: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"adcheck: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("adcheck: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # adcheck's own bug: one line and the file with the traceback, never a bare traceback
        return _internal_error(err, out)
