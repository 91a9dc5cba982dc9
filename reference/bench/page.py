"""``adcheck bench``: every benchmark, then bench.md and bench.png (figures for people; nothing asserts a time)."""
from __future__ import annotations

import sys

from tabulate import tabulate

from reference.bench.commands import bench_suite
from reference.bench.graphs import bench_chain, bench_gradient_cost, bench_unary_chain
from reference.bench.step import ENGINE, LOOP, PEERS, bench_step_profile, bench_training_step
from reference.bench.timing import in_fresh_process, spread
from reference.core.progress import Progress


def _fmt_s(x) -> str:
    if x is None:
        return ""
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def _fmt_spread(d: dict, fmt=_fmt_s) -> str:
    return f"{fmt(d['median'])} ({fmt(d['q1'])}–{fmt(d['q3'])})"


def _fmt_ratio(x: float) -> str:
    return f"{x:.3g}"


def machine() -> dict:
    """CPU model, cores, Python and the date: what a reader needs to place the figures."""
    import datetime
    import os
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": python,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{cpu}, {os.cpu_count()} cores, {python}"}


def render(step: list[dict], chain: list[dict], cost: list[dict], suite: list[dict] | None, meta: dict,
           unary: list[dict] | None = None, profile: dict | None = None) -> str:
    """reports/bench.md from the measured rows."""
    out = ["# Benchmarks", "", f"Measured on {meta['machine']}, {meta.get('date', '')}, in one process. "
           "Figures move from run to run and machine to machine; the ratios within one run are what to read.", ""]
    rounds = step[0]["consecutive"]["n"]
    out += [f"## One training step of MLP(2, [16, 16, 1]) on a batch of {step[0].get('batch', 100)}", "",
            "Forward, mean squared error, backward, SGD update. Hidden layers use tanh (micrograd 0.1.0 has only "
            "relu: same graph size, one activation node per neuron).", "",
            f"The peers are interleaved: {rounds} rounds, each timing every peer in turn, so drift of a shared "
            "machine falls on all of them alike. Each round of each peer runs in a fresh process, forked after the "
            "imports, one at a time: none is timed on a heap another one fragmented, and the luck of a process's "
            "memory layout is averaged over the rounds. A sample is the mean time per step over several steps in "
            "a row (column *steps*) after one untimed step: with the collector at its defaults, so its passes are "
            "paid where the allocations "
            "trigger them, and with the collector off. Each cell is the median of the samples and, in "
            "parentheses, their interquartile range (25th–75th percentile); *time / engine* is the same "
            f"for the ratio of the peer's time to that of *{ENGINE}* in the same round (below 1: faster). "
            "torch, NumPy, SymPy and micrograd are all imported, as in a real notebook; nothing is "
            "frozen out of the collector's way.", "",
            f"*{ENGINE}* is `fit(model, X, y, epochs=1)`: full batch, so one epoch is one step, with training's "
            "collector policy (`autodiff.collector_paused`: the cyclic collector is off during training, since "
            "the engine's graphs are freed by reference counting, and one young-generation pass runs at the "
            f"end). *{LOOP}* is the same step written out by hand with no policy, so the collector's cost "
            "shows in its first column.", ""]
    rows = []
    for r in step:
        rows.append([r["peer"], r["steps"], _fmt_spread(r["consecutive"]),
                     _fmt_spread(r["consecutive_ratio"], _fmt_ratio),
                     _fmt_spread(r["gc_off"]), _fmt_spread(r["gc_off_ratio"], _fmt_ratio),
                     _fmt_s(r.get("compile_s"))])
    out.append(tabulate(rows, ["peer", "steps", "GC default, consecutive steps", "time / engine",
                               "GC off", "time / engine (GC off)", "trace + generate (once)"], tablefmt="github"))
    by = {r["peer"]: r for r in step}
    eng = by[ENGINE]
    lines = []
    comp, batch = by.get("compiled (straight-line Python)"), by.get("compiled, NumPy batch")
    mg, t1, loop = by.get("micrograd 0.1.0"), by.get("torch, batched nn.Linear, 1 thread"), by.get(LOOP)

    def speed(row, mode):
        d = row[f"{mode}_ratio"]
        return f"{1 / d['median']:.1f}x (IQR {1 / d['q3']:.1f}–{1 / d['q1']:.1f}x)"

    def over(slow, fast, mode):  # slow's time / fast's time, round by round
        d = spread([a / b for a, b in zip(slow[f"{mode}_samples"], fast[f"{mode}_samples"])])
        return f"{d['median']:.1f}x (IQR {d['q1']:.1f}–{d['q3']:.1f}x)"
    if mg:
        c, o = mg["consecutive_ratio"], mg["gc_off_ratio"]
        lines.append(f"- Engine vs micrograd 0.1.0, the training step as `fit` runs it: {c['median']:.1f}x faster over "
                     f"consecutive steps with the collector at its defaults (IQR {c['q1']:.1f}–{c['q3']:.1f}x), "
                     f"{o['median']:.2f}x with it off (IQR {o['q1']:.2f}–{o['q3']:.2f}x).")
        if loop:
            lines.append(f"- The hand-written loop (no collector policy) vs micrograd 0.1.0: "
                         f"{over(mg, loop, 'consecutive')} with the collector at its defaults, "
                         f"{over(mg, loop, 'gc_off')} with it off.")
    if comp:
        lines.append(f"- Compiled mode vs the interpreted engine: {speed(comp, 'consecutive')} faster with the "
                     f"collector at its defaults, {speed(comp, 'gc_off')} with it off.")
    if batch and t1:
        ratio = spread([b / t for b, t in zip(batch["consecutive_samples"], t1["consecutive_samples"])])
        lines.append(f"- NumPy batch program vs torch batched on 1 thread: {ratio['median']:.2f}x torch's time "
                     f"(IQR {ratio['q1']:.2f}–{ratio['q3']:.2f}).")
    out += ["", *lines, "", f"Engine: {_fmt_spread(eng['consecutive'])} per step with the collector at its defaults, "
            f"{_fmt_spread(eng['gc_off'])} with it off. The compiled rows replay a graph traced once; their own "
            "gradients equal the engine's bit for bit (the NumPy batch program within a stated ulp bound), "
            "see `autodiff/compile.py`."]
    if profile:
        total = sum(profile["phases"].values())
        out += ["", "### Where the engine's step goes", "",
                f"The hand-written step, phase by phase, collector off, in a process of its own as the peers are "
                f"(median of {profile['repeats']} steps): "
                f"{profile['nodes']} op nodes per step.", ""]
        rows = [[phase, _fmt_s(t), f"{t / total:.0%}", f"{t / profile['nodes'] * 1e9:.0f}"]
                for phase, t in profile["phases"].items()]
        rows.append(["total", _fmt_s(total), "100%", f"{total / profile['nodes'] * 1e9:.0f}"])
        out.append(tabulate(rows, ["phase", "time", "share", "ns per op node"], tablefmt="github"))
    out += ["", "## A deep chain: build + backward", "",
            "`v = v * 1.0000001 + 1e-9`, n times: 2n op nodes and 2n constant leaves. Bytes per node by tracemalloc "
            "(op nodes and leaves together, per op node). micrograd's backward recurses once per node, so it stops "
            "near a thousand.", ""]
    rows = [[r["nodes"], _fmt_s(r["engine_s"]), _fmt_s(r.get("micrograd_s")),
             f"{r['engine_bytes_per_node']:.0f}" if r.get("engine_bytes_per_node") else "",
             f"{r['micrograd_bytes_per_node']:.0f}" if r.get("micrograd_bytes_per_node") else "",
             f"{r['engine_bytes_per_node'] / r['micrograd_bytes_per_node']:.2f}"
             if r.get("micrograd_bytes_per_node") else ""] for r in chain]
    out.append(tabulate(rows, ["op nodes", "autodiff", "micrograd", "autodiff bytes/node", "micrograd bytes/node",
                               "memory ratio"], tablefmt="github"))
    if unary:
        out += ["", "`v = sin(v)`, n times: n op nodes, no constants; peak memory during build and backward "
                "(tracemalloc), per node.", ""]
        out.append(tabulate([[r["nodes"], _fmt_s(r["seconds"]), f"{r['peak_bytes_per_node']:.0f}"] for r in unary],
                            ["nodes", "build + backward", "peak bytes per node"], tablefmt="github"))
    out += ["", "## The cost of a gradient as inputs grow", "",
            "f(x1..xn) = sum tanh(x_i x_{i+1}) + x_n**2. Reverse mode should cost a small constant times f; central "
            "differences cost 2n evaluations of f; SymPy pays once to derive and lambdify, then evaluates.", ""]
    rows = [[r["n"], _fmt_s(r["f_s"]), _fmt_s(r["reverse_s"]), f"{r['reverse_s'] / r['engine_f_s']:.2f}",
             _fmt_s(r["fd_central_s"]), f"{r['fd_central_s'] / r['f_s']:.0f}",
             _fmt_s(r.get("sympy_derive_s")), _fmt_s(r.get("sympy_eval_s"))] for r in cost]
    out.append(tabulate(rows, ["n", "f (floats)", "reverse mode", "reverse / engine's f", "central FD",
                               "FD / f", "SymPy derive", "SymPy evaluate"], tablefmt="github"))
    if suite:
        out += ["", "## The commands", "",
                "Each command run as a user runs it, in a fresh interpreter (imports included), "
                f"{suite[0]['wall']['n']} times: the median wall time and its range. The fuzz rate is the one "
                "`adcheck fuzz` reports (expressions over its wall time, worker start-up included).", ""]
        rows = [[f"`{r['command']}`", f"{_fmt_s(r['wall']['median'])} ({_fmt_s(r['wall']['min'])}–"
                 f"{_fmt_s(r['wall']['max'])})",
                 f"{r['rate']['median']:.0f}/s ({r['rate']['min']:.0f}–{r['rate']['max']:.0f})" if r["rate"] else ""]
                for r in suite]
        out.append(tabulate(rows, ["command", "wall (range)", "expressions per second (range)"], tablefmt="github"))
    out += ["", "## Versions", "", tabulate(sorted(meta["versions"].items()), ["package", "version"],
                                            tablefmt="github"), ""]
    return "\n".join(out)


def plot(chain: list[dict], cost: list[dict], path, unary: list[dict] | None = None,
         step: list[dict] | None = None) -> None:
    """The training step per peer (median and IQR), time against graph size, gradient cost against n."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3 if step else 2, figsize=(17 if step else 11, 4.5))
    if step:
        bars, left, right = axes
        names = [r["peer"] for r in step]
        for k, (mode, label) in enumerate((("consecutive", "GC default"), ("gc_off", "GC off"))):
            med = [r[mode]["median"] for r in step]
            err = [[m - r[mode]["q1"] for m, r in zip(med, step)], [r[mode]["q3"] - m for m, r in zip(med, step)]]
            bars.barh([i + 0.4 * k for i in range(len(step))], med, height=0.4, xerr=err, label=label, log=True)
        bars.set_yticks([i + 0.2 for i in range(len(step))], names, fontsize=8)
        bars.invert_yaxis()
        bars.set_xlabel("seconds per training step (median, IQR)")
        bars.legend(fontsize=8)
        bars.grid(True, axis="x", which="both", alpha=0.3)
    else:
        left, right = axes
    left.loglog([r["nodes"] for r in chain], [r["engine_s"] for r in chain], "o-",
                label="autodiff: v*c + d chain (with constant leaves)")
    if unary:
        left.loglog([r["nodes"] for r in unary], [r["seconds"] for r in unary], "s-", label="autodiff: sin chain")
    left.set_xlabel("op nodes in the chain")
    left.set_ylabel("seconds")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    ns = [r["n"] for r in cost]
    right.loglog(ns, [r["reverse_s"] for r in cost], "o-", label="reverse mode (engine)")
    right.loglog(ns, [r["fd_central_s"] for r in cost], "s-", label="central differences")
    right.loglog(ns, [r["f_s"] for r in cost], "^--", label="f alone (floats)")
    sym = [r for r in cost if "sympy_eval_s" in r]
    right.loglog([r["n"] for r in sym], [r["sympy_eval_s"] for r in sym], "d-", label="SymPy lambdified gradient")
    right.set_xlabel("inputs n")
    right.set_ylabel("seconds per gradient")
    right.legend()
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None, "CreationDate": None})
    plt.close(fig)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages measured or used."""
    import platform
    from importlib import metadata
    found = {"python": platform.python_version()}
    for name in ("adcheck", "torch", "numpy", "micrograd", "sympy", "mpmath"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def main(argv=None) -> int:
    """Run every benchmark (``--quick`` for tiny sizes) and write bench.md and bench.png.

    The full run writes into ``reports/`` unless ``--out`` says otherwise; ``--quick`` writes into a
    new temporary folder unless ``--out`` is given (so a smoke run never overwrites the report).
    """
    import argparse
    import os
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="adcheck bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--out", default=None, help="folder for bench.md and bench.png (default: reports/, "
                        "or a temporary folder with --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds of the training step")
    parser.add_argument("--no-commands", action="store_true", help="skip timing the commands (run, fuzz, check, graph)")
    args = parser.parse_args(argv)
    quick = args.quick
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="adcheck-bench-")) if quick
                                           else Path("reports"))

    stages = ["training step", "step profile", "deep chains", "gradient cost", "commands"]
    with Progress("bench", unit="stages") as progress:  # a bar on a terminal, a line every 10 s elsewhere
        progress(0, len(stages), f"training step ({len(PEERS)} peers interleaved, GC default and off)")
        rounds = args.rounds or (2 if quick else 11)
        step = bench_training_step(batch=10 if quick else 100, rounds=rounds, consecutive=2 if quick else 5)
        progress(1, len(stages), "the engine's step, phase by phase")
        profile = in_fresh_process(bench_step_profile, 10 if quick else 100, 2 if quick else 15)
        progress(2, len(stages), "deep chains")
        chain = bench_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 500_000), repeats=1 if quick else 3)
        unary = bench_unary_chain((100, 1000) if quick else (1_000, 10_000, 100_000, 1_000_000))
        progress(3, len(stages), "gradient cost against n")
        cost = bench_gradient_cost((1, 10) if quick else (1, 10, 100, 1000), sympy_limit=10 if quick else 100,
                                   repeats=1 if quick else 3)
        suite = None
        if not args.no_commands:
            progress(4, len(stages), "the commands (run, fuzz, check, graph)")
            suite = bench_suite(repeats=1 if quick else 3, quick=quick)
        progress(len(stages), len(stages), "done")
    meta = {**machine(), "versions": versions()}
    out.mkdir(parents=True, exist_ok=True)
    text = render(step, chain, cost, suite, meta, unary, profile)
    plot(chain, cost, out / "bench.png", unary, step)
    tmp = out / "bench.md.tmp"
    tmp.write_text(text + "\n![training step, and time against graph size](bench.png)\n")
    os.replace(tmp, out / "bench.md")
    print(text)
    if quick and not args.out:
        print(f"\n(quick run written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
