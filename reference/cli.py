"""The ``adcheck`` command: run, check, study, graph, train, bench."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_UNCHECKED = 0, 1, 2, 3


class UsageError(Exception):
    """Bad usage or bad input: one line for the user, exit status 2."""


def _backend_names(text: str | None):
    if not text:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("--backends needs at least one name")
    return names


def _engine_spec(args):
    """The engine under test from --engine and its adapter options (None: this project's engine)."""
    engine = getattr(args, "engine", None)
    extra = [f for f in ("grad_attr", "backward_method", "functions") if getattr(args, f, None)]
    if not engine:
        if extra:
            raise UsageError(f"--{extra[0].replace('_', '-')} needs --engine")
        return None
    from .backends.engine import load_class
    from .subject.load import parse_spec
    try:
        spec = parse_spec(engine, getattr(args, "grad_attr", None), getattr(args, "backward_method", None),
                          getattr(args, "functions", None), getattr(args, "engine_timeout", 5.0))
        return _checked(spec)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _checked(spec):
    from .backends.engine import _check_class_defined
    _check_class_defined(spec)
    return spec


def _with_engine(names, spec):
    """Backend names; with --engine the engine is always among them (said on stderr if added)."""
    if spec is not None and names is not None and "engine" not in names:
        print(f"adcheck: --engine given: the engine ({spec.text}) is checked too, beside {', '.join(names)}",
              file=sys.stderr)
        names = ("engine", *names)
    return names


def _make_backends(names, engine):
    from .backends import DEFAULT_BACKENDS, make_backends
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
        lines.append(f"{subject.class_name} lacks: " + "; ".join(f"{op} ({why})" for op, why in subject.lacks.items()))
    for d in subject.diagnosis():
        lines.append(f"{d['kind']}{' ' + d['op'] if d['op'] else ''}: {d['summary']}")
    return lines


def cmd_run(args) -> int:
    from .backends import OracleBackend
    from .cases import CORPUS, select
    from .harness import describe_backends, run, terminal_progress
    from .report import versions, write_report
    from .summary import exit_status, summarize

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    spec = _engine_spec(args)
    names = _with_engine(_backend_names(args.backends), spec)
    backends = _make_backends(names, spec)
    cases = select(args.only, CORPUS)
    if not cases:
        raise UsageError(f"--only {args.only!r} matches no case (try a case name or a tag such as op:tanh)")
    start = time.perf_counter()
    engine = next((b for b in backends if b.name == "engine"), None)
    subject = engine.engine if engine is not None else None
    if subject is not None:
        subject.prepare()  # load, probe every op by form, diagnose: before the corpus
    records = []
    for batch in run(cases, [b.name for b in backends], spec, args.workers, args.budget, terminal_progress()):
        records.extend(batch)
    summary = summarize(records)
    meta = {"engine": engine.label if engine else "(not run)", "oracle": OracleBackend.method,
            "backends": describe_backends(backends), "versions": versions(),
            "selection": args.only or "all", "budget_seconds": args.budget}
    if subject is not None:
        meta["subject"] = subject.subject_dict(records)
        meta["subject"]["coverage"] = {**summary.get("coverage", {}), "probes": dict(subject.probes)}
        meta["diagnosis"] = subject.diagnosis()
        meta["reproduce"] = " ".join(["adcheck", "run", *spec.options])
        if engine.missing:
            meta["engine_lacks"] = engine.missing
    out = Path(args.out)
    write_report(out, summary, meta, records)
    counts = {v: sum(c[v] for c in summary["counts"].values()) for v in next(iter(summary["counts"].values()))}
    print(f"{summary['records']} records in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
          + f"; {len(summary['subject_failures'])} unexpected mismatch(es). Wrote {out / 'conformance.md'} and .json")
    if subject is not None:
        print("\n".join(_subject_lines(subject, summary)))
        subject.close()
    return _subject_exit(exit_status(summary, getattr(args, "strict", False)), subject)


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
                 budget: float | None = 60.0, strict: bool = False) -> dict:
    """``adcheck check`` as data: the JSON of DESIGN.md (with "subject" and "diagnosis" for another engine)."""
    from .expr import ExpressionError, to_case
    from .harness import run_case
    from .summary import exit_status, overall_verdict, summarize
    try:
        case = to_case(expression, at)
    except ExpressionError as err:
        raise UsageError(str(err)) from None
    backends = _make_backends(backend_names, engine)
    subject = next((b.engine for b in backends if b.name == "engine" and b.engine is not None), None)
    if subject is not None:
        subject.prepare()
    records = run_case(case, backends, budget)
    first = records[0]
    doc = {
        "expression": case.name,
        "point": first["point"],
        "oracle": {"value": first["oracle_value"], "grad": first["oracle_grad"]},
        "backends": {r["backend"]: {"status": r["status"], "verdict": r["verdict"], "value": r["value"],
                                    "grad": r["grad"], "max_rel_err": r["max_rel_err"], "tolerance": r["tolerance"],
                                    **({"note": r["note"]} if r["note"] else {}),
                                    **({"message": r["message"]} if r["message"] else {})}
                     for r in records},
        "verdict": overall_verdict(records),
    }
    summary = summarize(records)
    status = _subject_exit(exit_status(summary, strict), subject)
    if subject is not None:
        doc["subject"] = subject.subject_dict(records)
        doc["subject"]["coverage"] = {**summary.get("coverage", {}), "probes": dict(subject.probes)}
        doc["diagnosis"] = subject.diagnosis()
        subject.close()
    doc["exit_status"] = status
    return doc


def cmd_check(args) -> int:
    from .expr import ExpressionError, parse_point
    from .report import check_table, dumps
    try:
        at = parse_point(args.at)
    except ExpressionError as err:
        raise UsageError(str(err)) from None
    spec = _engine_spec(args)
    result = check_result(args.expression, at, _with_engine(_backend_names(args.backends), spec), spec,
                          strict=getattr(args, "strict", False))
    status = result.pop("exit_status")
    if args.json:
        print(dumps(result))
    else:
        print(check_table(result), end="")
        for d in result.get("diagnosis", []):
            print(f"{d['kind']}{' ' + d['op'] if d['op'] else ''}: {d['summary']}")
    return status


def cmd_graph(args) -> int:
    from autodiff import Value, render_graph

    from autodiff.engine import VALUE_MATH as _ENGINE_MATH

    from .expr import ExpressionError, parse, parse_point
    try:
        at = parse_point(args.at)
        variables, compiled = parse(args.expression)
    except ExpressionError as err:
        raise UsageError(str(err)) from None
    missing = [v for v in variables if v not in at]
    if missing:
        raise UsageError(f"no value given for {', '.join(missing)}")
    env = {v: Value(at[v], label=v) for v in variables}
    out = compiled(_ENGINE_MATH, env)
    if not isinstance(out, Value):
        raise UsageError("the expression has no variables: there is no graph to draw")
    out.label = "out"
    out.backward()
    path = Path(args.output)
    if path.suffix.lower().lstrip(".") not in ("svg", "png", "pdf", "dot", "gv"):
        raise UsageError(f"-o {path}: the name must end in .svg, .png, .pdf or .dot")
    try:
        render_graph(out, path, rankdir=args.rankdir)
    except (ImportError, RuntimeError) as err:
        raise UsageError(str(err)) from None
    print(f"wrote {path}")
    return EXIT_OK


def cmd_fuzz(args) -> int:
    from .fuzz import fuzz, write
    if args.budget < 1 or args.workers < 1:
        raise UsageError("--budget and --workers must be at least 1")
    spec = _engine_spec(args)
    from .harness import terminal_progress
    result = fuzz(args.budget, args.seed, args.workers, spec, progress=terminal_progress())
    path = write(result, Path(args.out))
    print(f"{args.budget} expressions in {result['seconds']:.1f} s "
          f"({args.budget / result['seconds']:.1f}/s): {len(result['findings'])} disagreement(s). Wrote {path}")
    return EXIT_MISMATCH if result["findings"] else EXIT_OK


def cmd_study(args) -> int:
    from autodiff import RULES

    from .study import write_study
    unknown = [op for op in args.ops if op not in RULES]
    if unknown:
        raise UsageError(f"unknown op {unknown[0]!r}; ops: {', '.join(RULES)}")
    from .harness import terminal_progress
    for path in write_study(args.ops or None, Path(args.out), progress=terminal_progress()):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_train(args) -> int:
    from .harness import terminal_progress
    from .training import TOLERANCE, main as train_main
    if args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    runs = train_main(Path(args.out), args.epochs, progress=terminal_progress())
    for r in runs:
        s = r.setting
        batch = "full batch" if s.batch_size is None else f"batch {s.batch_size}"
        print(f"{s.dataset:10} {s.optimizer:8} {batch:10} loss {r.engine_loss[-1]:.4g}  largest difference "
              f"to torch: loss {max(r.loss_diff):.1e}, parameters {max(r.param_diff):.1e}  "
              f"({1e3 * r.engine_seconds / s.epochs:.1f} ms/epoch, torch {1e3 * r.torch_seconds / s.epochs:.1f})")
    print(f"wrote {Path(args.out) / 'training' / 'training.md'}")
    return EXIT_OK if all(r.worst <= TOLERANCE for r in runs) else EXIT_MISMATCH


def _engine_options(p, strict: bool = True) -> None:
    p.add_argument("--engine", metavar="MODULE:CLASS", help="check another engine: MODULE:CLASS or path/to/file.py:CLASS")
    p.add_argument("--grad-attr", metavar="NAME", help="the attribute holding a node's gradient (default: found)")
    p.add_argument("--backward-method", metavar="NAME", help="the method that runs backpropagation (default: found)")
    p.add_argument("--functions", metavar="MODULE", help="a module (or .py file) whose functions are ops: tanh(v), ln(v)")
    p.add_argument("--engine-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="time budget of the engine per case and point (default 5)")
    if strict:
        p.add_argument("--strict", action="store_true",
                       help="a raise where IEEE doubles give inf/nan fails the run too")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adcheck", description="Automatic and symbolic differentiation side by side.")
    parser.add_argument("--version", action="version", version=f"adcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="the conformance harness: every case through every backend")
    p.add_argument("--out", default="reports", help="folder for conformance.md and .json (default: reports)")
    p.add_argument("--backends", help="comma-separated backend names (default: all)")
    _engine_options(p)
    p.add_argument("--only", metavar="PATTERN", help="cases whose name contains PATTERN or with tag PATTERN")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes (same output)")
    p.add_argument("--budget", type=float, default=60.0, help="seconds of SymPy work per case (default 60)")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser("check", help="one expression through every backend")
    p.add_argument("expression")
    p.add_argument("--at", required=True, help="the point, e.g. x=0.5,y=-1")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--backends", help="comma-separated backend names (default: all)")
    _engine_options(p)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("graph", help="the engine's computation graph of an expression, after backward")
    p.add_argument("expression")
    p.add_argument("--at", required=True, help="the point, e.g. x=0.5,y=-1")
    p.add_argument("-o", "--output", required=True, help="FILE.svg, .png, .pdf or .dot")
    p.add_argument("--rankdir", default="LR", choices=["LR", "TB", "RL", "BT"])
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("train", help="train the same MLPs with the engine and PyTorch; compare every epoch")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--out", default="reports", help="folder that gets training/ (default: reports)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("study", help="the per-operation study: one page per primitive op under reports/ops/")
    p.add_argument("ops", nargs="*", metavar="OP", help="ops to study (default: all)")
    p.add_argument("--out", default="reports", help="folder that gets ops/ (default: reports)")
    p.set_defaults(run=cmd_study)

    p = sub.add_parser("fuzz", help="random expressions through engine, torch and SymPy")
    p.add_argument("--budget", type=int, default=200, help="how many expressions (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    _engine_options(p)
    p.add_argument("--out", default="reports", help="folder for fuzz.md (default: reports)")
    p.set_defaults(run=cmd_fuzz)

    sub.add_parser("bench", help="benchmarks against micrograd and torch (adcheck bench --help)")
    return parser


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
        from .bench import main as bench_main
        return _guarded(lambda: bench_main(argv[1:]))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on bad usage, 0 on --help/--version
        return int(stop.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    return _guarded(lambda: args.run(args))


def _guarded(action) -> int:
    """Run a command: bad input and interrupts become one line and an exit status."""
    try:
        return action()
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
