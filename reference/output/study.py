"""The per-operation study: how and why the derivations of each primitive differ.

For each op: the rules proved (``reference.output.proof``: the engine's rule on SymPy symbols next to
``sympy.diff`` and PyTorch's formula, first and second derivatives); every backend at the op's
edges; relative accuracy over a sweep of inputs; the error of each finite-difference scheme
against its step. ``study_op`` returns the data, ``write_study``
the pages under ``reports/ops/``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import sympy
from tabulate import tabulate

from autodiff import Value
from autodiff.engine import VALUE_MATH
from autodiff.graph import topological
from autodiff.rules import RULES, Rule
from reference.backends import OracleBackend, make_backends
from reference.backends.finite_difference import Central, ComplexStep, FivePoint, Forward, Richardson
from reference.bench.graphs import bench_gradient_cost
from reference.core.budget import cpu_budget
from reference.core.errors import NoOracle
from reference.core.files import write_atomic
from reference.core.formatting import fmt
from reference.corpus.cases import CORPUS, PRIMITIVE_CASES, Case, Point, primitive_function
from reference.corpus.conventions import ANY, CONVENTIONS
from reference.oracle.rule_math import SYMPY_RULE_MATH as SYMPY
from reference.output.atlas import atlas, op_section
from reference.output.proof import Partial, Second, rules_side_by_side, second_rules, symbols_of
from reference.running.harness import run_case

SWEEP_BACKENDS = ("engine", "torch", "sympy", "fd-central", "fd-complex-step")


@dataclass
class OpStudy:
    """Everything the study found for one op."""

    op: str
    rule: Rule
    forward: sympy.Expr
    partials: list[Partial]
    edges: list[dict] = field(default_factory=list)
    sweep: dict = field(default_factory=dict)
    seconds: list[Second] = field(default_factory=list)
    steps: dict = field(default_factory=dict)
    systems: dict = field(default_factory=dict)  # the atlas of this op alone (every AD system at its points)

    @property
    def verdict(self) -> str:
        """The weakest proof among the partials."""
        order = ["different", "numerically equal", "proved equal"]
        return min((p.proof for p in self.partials), key=order.index)


def _primitive_cases(op: str) -> list[Case]:
    return [c for c in PRIMITIVE_CASES if c.ops == {op}]


def edge_table(op: str) -> list[dict]:
    """Every backend at each edge point of the op's corpus cases."""
    records = []
    for case in _primitive_cases(op):
        edges = tuple(p for p in case.points if p.edge)
        if edges:
            trimmed = Case(case.name, case.fn, case.variables, edges, case.tags, case.note, case.tol)
            records += run_case(trimmed, make_backends())
    return records


def _grid(lo: float, hi: float, kind: str, n: int = 161) -> list[float]:
    if kind == "lin":
        return [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    return [10 ** (lo + (hi - lo) * i / (n - 1)) for i in range(n)]


def op_function(op: str):
    """The op alone as a case function over a math namespace (at the row's probe parameters)."""
    return primitive_function(op, RULES[op].sampling.probe_params)


def sweep(op: str) -> dict:
    """Relative error of each backend (and of a better formula) against the oracle over a range."""
    rule = RULES[op]
    kind, lo, hi = rule.sampling.sweep
    inputs, _ = symbols_of(op)
    names = [str(s) for s in inputs]
    name, fixed = names[0], dict(zip(names[1:], rule.sampling.probe[1:]))
    fn = op_function(op)
    xs = _grid(lo, hi, kind)
    points = [tuple(x if n == name else fixed[n] for n in names) for x in xs]
    case = Case(f"sweep-{op}", fn, tuple(names), tuple(Point(p) for p in points), frozenset({"study"}))
    records = run_case(case, make_backends(SWEEP_BACKENDS), budget=None)
    errors: dict[str, list[float]] = {b: [] for b in SWEEP_BACKENDS}
    for r in records:
        o, b = r["oracle_grad"][name], r["grad"].get(name, "nan")
        errors[r["backend"]].append(relative_error(b, o))
    out = {"input": name, "xs": xs, "fixed": fixed, "errors": errors}
    if rule.prose.better:
        label, better = rule.prose.better
        oracle = [r["oracle_grad"][name] for r in records if r["backend"] == "engine"]
        out["better"] = {"label": label, "errors": [relative_error(better(x), o) for x, o in zip(xs, oracle)]}
    return out


def relative_error(b, o) -> float:
    """|b - o| / |o| (|b| where o = 0); nan when either is not a finite number, 0 when both are equal."""
    if isinstance(b, str) or isinstance(o, str):
        return 0.0 if b == o else math.nan
    if b == o:
        return 0.0
    return abs(b - o) / abs(o) if o != 0 else abs(b)


def step_study(op: str) -> dict:
    """Error of each finite-difference scheme against its step at a typical point."""
    inputs, _ = symbols_of(op)
    point = RULES[op].sampling.probe
    x0 = point[0]
    names = tuple(str(s) for s in inputs)
    case = Case(f"steps-{op}", op_function(op), names, (Point(point),), frozenset({"study"}))
    truth = OracleBackend().evaluate(case, point).grad[names[0]]
    hs = [10 ** (-16 + 15 * i / 59) for i in range(60)]
    curves, defaults = {}, {}
    for scheme in (Forward(), Central(), FivePoint(), Richardson(), ComplexStep()):
        steps = [10 ** (-25 + 24 * i / 59) for i in range(60)] if scheme.name == "fd-complex-step" else hs
        errs = []
        for h in steps:
            r = scheme.with_step(h).evaluate(case, point)
            errs.append(relative_error(r.grad.get(names[0], "nan"), truth) if r.status == "ok" else math.nan)
        curves[scheme.name] = {"h": steps, "errors": errs}
        default = scheme.evaluate(case, point)
        defaults[scheme.name] = {"h": scheme.default_step(x0),
                                 "error": relative_error(default.grad.get(names[0], "nan"), truth)}
    return {"x0": x0, "curves": curves, "defaults": defaults}


def study_op(op: str, with_plots_data: bool = True) -> OpStudy:
    """The whole study of one primitive op."""
    if op not in RULES:
        raise ValueError(f"unknown op {op!r}; ops: {', '.join(RULES)}")
    forward, partials = rules_side_by_side(op)
    result = OpStudy(op, RULES[op], forward, partials, edge_table(op))
    result.seconds = second_rules(op)
    if with_plots_data:
        result.sweep = sweep(op)
        result.steps = step_study(op)
        result.systems = atlas(order=1, only=[op])
    return result


# -- pages ---------------------------------------------------------------------------------
def _tex(e) -> str:
    return f"`{sympy.sstr(e)}`"


def _num(x) -> str:
    return fmt(x, 3)


def plot_op(study: OpStudy, path: Path) -> None:
    """Two panels: accuracy over the sweep, and error against the finite-difference step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    s = study.sweep
    xs = s["xs"]

    def floor(errs):
        return [min(max(e, 1e-18), 10.0) if e == e else 10.0 for e in errs]
    for name, errs in s["errors"].items():
        left.plot(xs, floor(errs), label=name, lw=1.2, alpha=0.85)
    if "better" in s:
        left.plot(xs, floor(s["better"]["errors"]), "k--", lw=1.5, label="better: " + s["better"]["label"][:32])
    left.set_yscale("log")
    if RULES[study.op].sampling.sweep[0] == "log":
        left.set_xscale("log")
    left.set_ylim(1e-18, 20)
    left.set_xlabel(s["input"] + (f" ({', '.join(f'{k}={v}' for k, v in s['fixed'].items())})" if s["fixed"] else ""))
    left.set_ylabel(f"relative error of d/d{s['input']} (nan/inf drawn at 10)")
    left.set_title(f"{study.op}: accuracy against the 50-digit oracle")
    left.legend(fontsize=7)
    left.grid(True, which="both", alpha=0.3)
    st = study.steps
    for name, curve in st["curves"].items():
        (line,) = right.plot(curve["h"], floor(curve["errors"]), label=name, lw=1.2)
        d = st["defaults"][name]
        right.plot([d["h"]], floor([d["error"]]), "o", ms=7, color=line.get_color())
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_ylim(1e-18, 20)
    right.set_xlabel("step h (dots: each scheme's default step)")
    right.set_ylabel("relative error")
    right.set_title(f"finite differences at x = {st['x0']}")
    right.legend(fontsize=7)
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def page(study: OpStudy) -> str:
    """The Markdown page of one op."""
    op, rule = study.op, study.rule
    note = f" Note of the rule: {rule.prose.note}." if rule.prose.note else ""
    out = [f"# {op}", "", f"Forward: {_tex(study.forward)}.{note}", "", "## 1. Rules side by side", "",
           "The engine's partial is its own rule from `autodiff/rules.py` evaluated on SymPy symbols (`z` is the op's "
           "output), not typed in here. PyTorch's is its `tools/autograd/derivatives.yaml` entry.", ""]
    rows = []
    for p in study.partials:
        rows.append([f"d/d{p.input}", _tex(p.engine_as_written), _tex(p.sympy), p.proof, p.proof_detail])
    out.append(tabulate(rows, ["partial", "engine (as written)", "sympy.diff", "engine = SymPy?", "how"],
                        tablefmt="github"))
    out += [""]
    rows = [[f"d/d{p.input}", f"`{p.torch_entry}`", _tex(p.torch), p.torch_same] for p in study.partials]
    out.append(tabulate(rows, ["partial", "PyTorch entry", "as a formula", "against the engine's rule"],
                        tablefmt="github"))
    if study.seconds:
        out += ["", "### Second derivatives", "",
                "The engine's partial (its rule as written, `z` replaced by the forward) differentiated once more "
                "by SymPy, against `sympy.diff` applied twice. `create_graph=True` runs the same rule on Values, "
                "so this is the rule behind the engine's Hessians (piecewise-constant partials such as "
                "Heaviside give DiracDelta here and 0 in the engine: see the second-order conventions).", ""]
        rows = [[f"d/d{s2.then}(d/d{s2.first})", _tex(s2.engine), _tex(s2.sympy), s2.proof, s2.proof_detail]
                for s2 in study.seconds]
        out.append(tabulate(rows, ["second partial", "engine's partial, differentiated", "sympy.diff twice",
                                   "engine = SymPy?", "how"], tablefmt="github"))
    out += ["", "## 2. Conventions at edge points", ""]
    conventions = [c for c in CONVENTIONS.values() if c.op == op]
    for c in conventions:
        out += [f"**{c.where}**: {c.truth}.", ""]
        rows = [[b, ", ".join("any" if v is ANY else _num(v) for v in c.expected[b]) if b in c.expected else "",
                 c.why.get(b, "")] for b in dict.fromkeys([*c.expected, *c.why])]
        if rows:
            out += [tabulate(rows, ["backend", "declared partials", "why"], tablefmt="github"), ""]
    if study.edges:
        rows = [[r["case"], ", ".join(f"{k}={_num(v)}" for k, v in r["point"].items()), r["backend"],
                 ", ".join(_num(v) for v in r["grad"].values()), ", ".join(_num(v) for v in r["oracle_grad"].values()),
                 r["verdict"]] for r in study.edges]
        out += ["Measured at this op's edge points of the corpus (the same records as the conformance report):", "",
                tabulate(rows, ["case", "point", "backend", "partials", "oracle", "verdict"], tablefmt="github"), ""]
    elif not conventions:
        out += ["No kink or domain edge: every backend follows the mathematics everywhere.", ""]
    if study.systems:
        out += ["### Every AD system here", "",
                "The op at its corpus points through each AD system beside the exact oracle and the valid set, "
                "each cell the system's own answer and its verdict (the same data as the atlas, `reports/atlas.md`, "
                "where each difference is explained).", "", *op_section(study.systems, study.systems["ops"][0]), ""]
    s = study.sweep
    out += ["## 3. Accuracy over the range", "", f"![accuracy and steps]({op}.png)", ""]
    rows = []
    for name, errs in s["errors"].items():
        finite = [e for e in errs if e == e]
        rows.append([name, _num(max(finite)) if finite else "", sum(e != e for e in errs)])
    if "better" in s:
        finite = [e for e in s["better"]["errors"] if e == e]
        rows.append([f"better formula: {s['better']['label']}", _num(max(finite)), sum(e != e for e in
                                                                                     s["better"]["errors"])])
    out.append(tabulate(rows, ["backend", f"largest relative error of d/d{s['input']}", "nan/inf points"],
                        tablefmt="github"))
    if RULES[op].prose.why:
        out += ["", RULES[op].prose.why]
    st = study.steps
    out += ["", "## 4. Finite-difference steps", "",
            f"At x = {st['x0']}: truncation error falls with h, round-off grows as eps/h, so each scheme's error "
            "draws a V; the dot is the scheme's default step. The complex step has no subtraction, so its line "
            "stays flat down to the smallest steps.", ""]
    rows = [[name, _num(d["h"]), _num(d["error"]), _num(min((e for e in st["curves"][name]["errors"] if e == e),
                                                           default=math.nan))] for name, d in st["defaults"].items()]
    out.append(tabulate(rows, ["scheme", "default step", "error there", "best error over the steps tried"],
                        tablefmt="github"))
    return "\n".join(out) + "\n"


def write_study(ops: list[str] | None = None, out: Path = Path("reports"), progress=None) -> list[Path]:
    """Pages and pictures of ``ops`` (all when None) under out/ops, and the index."""
    ops = list(ops or RULES)
    folder = Path(out) / "ops"
    folder.mkdir(parents=True, exist_ok=True)
    written, summary = [], []
    for i, op in enumerate(ops):
        if progress:
            progress(i, len(ops), op)
        study = study_op(op)
        plot_op(study, folder / f"{op}.png")
        write_atomic(folder / f"{op}.md", page(study))
        written.append(folder / f"{op}.md")
        engine_errs = [e for e in study.sweep["errors"]["engine"] if e == e]
        summary.append([f"[{op}]({op}.md)", study.verdict, ", ".join(p.torch_same for p in study.partials),
                        _num(max(engine_errs)) if engine_errs else ""])
    index = ["# The per-operation study", "",
             "One page per primitive op: the rules side by side, the conventions at edges, accuracy over a range, "
             "and the finite-difference step study. Regenerate with `adcheck study`.", "",
             tabulate(summary, ["op", "engine's rule vs sympy.diff", "vs PyTorch's formula",
                                "largest relative error of the engine over its sweep"], tablefmt="github"), "",
             "The same conventions feed the conformance report's table (`reference/conventions.py`).", ""]
    if progress:
        progress(len(ops), len(ops), "done")
    if set(ops) == set(RULES):
        index += swell_section()
        write_atomic(folder / "index.md", "\n".join(index) + "\n")
        written.append(folder / "index.md")
    return written


def swell_section() -> list[str]:
    """Expression swell: SymPy's derivative size with and without CSE against the engine's graph size."""

    # each row's SymPy definition (plain SymPy: 53-bit Floats for float constants)
    rows = []
    for case in [c for c in CORPUS if "composite" in c.tags]:
        symbols = [sympy.Symbol(v, real=True) for v in case.variables]
        try:
            with cpu_budget(30):
                expr = case.fn(SYMPY, *symbols)
                partials = [sympy.diff(expr, s) for s in symbols]
                plain = sum(sympy.count_ops(p) for p in partials)
                replacements, reduced = sympy.cse(partials)
                shared = sum(sympy.count_ops(e) for _, e in replacements) + sum(sympy.count_ops(e) for e in reduced)
        except NoOracle:
            plain = shared = "timeout"
        out = case.fn(VALUE_MATH, *[Value(x) for x in case.points[0].values])
        nodes = len(topological(out))
        rows.append([case.name, len(case.variables), sympy.count_ops(expr), plain, shared, nodes])
    cost = bench_gradient_cost((1, 10, 100, 1000), sympy_limit=100, repeats=3)
    cost_rows = [[r["n"], f"{r['reverse_s'] / r['engine_f_s']:.2f}", f"{r['fd_central_s'] / r['f_s']:.0f}",
                  f"{r['sympy_eval_s'] / r['f_s']:.1f}" if "sympy_eval_s" in r else "",
                  f"{r['sympy_derive_s']:.3g} s" if "sympy_derive_s" in r else ""] for r in cost]
    return ["## Expression swell", "",
            "Operations in SymPy's gradient (all partials, `count_ops`), with and without common-subexpression "
            "elimination, against the number of nodes in the engine's graph of the function (which is all that "
            "reverse mode keeps).", "",
            tabulate(rows, ["case", "inputs", "ops in f", "ops in gradient", "with CSE", "engine graph nodes"],
                     tablefmt="github"), "",
            "## The cheap-gradient principle, measured", "",
            "f(x1..xn) = sum tanh(x_i x_{i+1}) + x_n**2: the time of a whole gradient over the time of f. Reverse "
            "mode stays a small constant; central differences grow like 2n; SymPy's lambdified gradient grows "
            "with n too, after a one-off derivation.", "",
            tabulate(cost_rows, ["n", "reverse mode / f (engine)", "central FD / f", "SymPy evaluate / f",
                                 "SymPy derive + lambdify"], tablefmt="github"), ""]


__all__ = ["OpStudy", "Partial", "relative_error", "study_op", "write_study"]
