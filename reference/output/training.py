"""Training parity: the same model, weights, data and batch order through the engine and PyTorch.

``adcheck train`` runs every (dataset, optimiser, batching) and reports, after every epoch,
the largest relative difference in loss and in parameters; pictures go to reports/training/.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from autodiff import MLP, SGD, Adam, Module, Momentum, Value, fit, predict, render_graph
from autodiff.train import batches
from reference.core.files import write_atomic

TOLERANCE = 1e-9


def two_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles with Gaussian noise; labels 0 and 1."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * (i // 2) / max(1, n // 2 - 1)
        if i % 2 == 0:
            point, label = [math.cos(t), math.sin(t)], 0.0
        else:
            point, label = [1 - math.cos(t), 0.5 - math.sin(t)], 1.0
        X.append([round(p + rng.gauss(0, noise), 6) for p in point])
        y.append(label)
    return X, y


TRUE_K = [0.5, -1.0, 2.0, 0.3, -1.5, 0.8]


def polynomial_data(n: int = 60, noise: float = 0.05, seed: int = 1) -> tuple[list[list[float]], list[float]]:
    """Noisy samples of y = k0 + k1 x + ... + k5 x**5 on [-1, 1]."""
    rng = random.Random(seed)
    X = [[round(rng.uniform(-1, 1), 6)] for _ in range(n)]
    y = [sum(k * x[0] ** i for i, k in enumerate(TRUE_K)) + rng.gauss(0, noise) for x in X]
    return X, y


class Polynomial(Module):
    """k0 + k1 x + ... + kd x**d with coefficients as parameters (the classic curve fit)."""

    def __init__(self, degree: int = 5) -> None:
        self.k = [Value(0.0, f"k{i}") for i in range(degree + 1)]

    def __call__(self, x):
        x = x[0]
        return sum((k * x ** i for i, k in enumerate(self.k[1:], start=1)), self.k[0])

    def parameters(self) -> list[Value]:
        return list(self.k)


@dataclass
class Setting:
    """One training configuration."""

    dataset: str
    optimizer: str
    batch_size: int | None
    epochs: int
    lr: float


@dataclass
class Run:
    """Both trainings of one setting, epoch by epoch."""

    setting: Setting
    engine_loss: list[float] = field(default_factory=list)
    torch_loss: list[float] = field(default_factory=list)
    loss_diff: list[float] = field(default_factory=list)
    param_diff: list[float] = field(default_factory=list)
    engine_seconds: float = 0.0
    torch_seconds: float = 0.0
    model: object = None

    @property
    def worst(self) -> float:
        return max(self.loss_diff + self.param_diff)


def default_settings(epochs: int = 100) -> list[Setting]:
    out = []
    for dataset, lrs in (("moons", {"sgd": 0.2, "momentum": 0.05, "adam": 0.01}),
                         ("polynomial", {"sgd": 0.2, "momentum": 0.05, "adam": 0.05})):
        for optimizer, lr in lrs.items():
            for batch_size in (None, 20):
                out.append(Setting(dataset, optimizer, batch_size, epochs, lr))
    return out


def _engine_model(dataset: str, hidden=(16, 16)):
    return MLP(2, [*hidden, 1], activation="tanh", seed=0) if dataset == "moons" else Polynomial(5)


def _torch_twin(model, dataset: str):
    """A torch float64 model with exactly the engine model's parameters."""
    import torch
    if dataset == "moons":
        layers = []
        for i, layer in enumerate(model.layers):
            linear = torch.nn.Linear(len(layer.neurons[0].w), len(layer.neurons), dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
                linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
            layers.append(linear)
            if i < len(model.layers) - 1:
                layers.append(torch.nn.Tanh())
        return torch.nn.Sequential(*layers)

    class TorchPolynomial(torch.nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = torch.nn.Parameter(torch.tensor(k, dtype=torch.float64))

        def forward(self, x):
            powers = torch.stack([x[:, 0] ** i for i in range(len(self.k))], dim=1)
            return powers @ self.k
    return TorchPolynomial([k.data for k in model.k])


def _flat_torch(model) -> list[float]:
    """Parameters in the engine's order: per neuron its weights then its bias."""
    import torch
    if not isinstance(model, torch.nn.Sequential):
        return model.k.detach().tolist()
    out = []
    for linear in [m for m in model if isinstance(m, torch.nn.Linear)]:
        for w_row, b in zip(linear.weight.detach().tolist(), linear.bias.detach().tolist()):
            out += [*w_row, b]
    return out


def _optimizers(name: str, lr: float, engine_params, torch_params):
    import torch
    if name == "sgd":
        return SGD(engine_params, lr), torch.optim.SGD(torch_params, lr=lr)
    if name == "momentum":
        return Momentum(engine_params, lr, beta=0.9), torch.optim.SGD(torch_params, lr=lr, momentum=0.9)
    return Adam(engine_params, lr), torch.optim.Adam(torch_params, lr=lr)


def relative_difference(a: list[float], b: list[float]) -> float:
    """max |a - b| over max |b|: the difference at the scale of the quantity."""
    scale = max((abs(x) for x in b), default=0.0) or 1.0
    return max(abs(x - y) for x, y in zip(a, b)) / scale


def train_pair(setting: Setting, data=None, hidden=(16, 16), seed: int = 0) -> Run:
    """Train the engine model and its torch twin on the same batches; compare after every epoch."""
    import torch
    X, y = data or (two_moons() if setting.dataset == "moons" else polynomial_data())
    model = _engine_model(setting.dataset, hidden)
    twin = _torch_twin(model, setting.dataset)
    loss_name = "bce" if setting.dataset == "moons" else "mse"
    opt, topt = _optimizers(setting.optimizer, setting.lr, model.parameters(), list(twin.parameters()))
    run = Run(setting, model=model)
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    torch_loss = (torch.nn.functional.binary_cross_entropy_with_logits if loss_name == "bce"
                  else torch.nn.functional.mse_loss)
    # The engine trains one epoch at a time through fit(); two generators from the same seed
    # give both sides the same shuffled batches.
    engine_rng, torch_rng = random.Random(seed), random.Random(seed)
    for _ in range(setting.epochs):
        start = time.perf_counter()
        (engine_loss,) = fit(model, X, y, loss=loss_name, optimizer=opt, epochs=1, batch_size=setting.batch_size,
                             seed=engine_rng)
        run.engine_seconds += time.perf_counter() - start

        start = time.perf_counter()
        total, parts = 0.0, 0
        for idx in batches(len(X), setting.batch_size, torch_rng):
            out = twin(Xt[idx]).reshape(-1)
            loss = torch_loss(out, yt[idx])
            topt.zero_grad()
            loss.backward()
            topt.step()
            total, parts = total + loss.item(), parts + 1
        run.torch_seconds += time.perf_counter() - start
        run.engine_loss.append(engine_loss)
        run.torch_loss.append(total / parts)
        run.loss_diff.append(abs(run.engine_loss[-1] - run.torch_loss[-1]) / max(abs(run.torch_loss[-1]), 1e-300))
        run.param_diff.append(relative_difference([p.data for p in model.parameters()], _flat_torch(twin)))
    return run


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path, title: str) -> None:
    fig.axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})


def _batch_text(setting: Setting) -> str:
    return "full batch" if setting.batch_size is None else f"batches of {setting.batch_size}"


def _plot_losses(runs: list[Run], path: Path) -> None:
    plt = _pyplot()
    datasets = list(dict.fromkeys(r.setting.dataset for r in runs))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4))
    for ax, dataset in zip(axes if len(datasets) > 1 else [axes], datasets):
        for r in [r for r in runs if r.setting.dataset == dataset]:
            label = f"{r.setting.optimizer}, {_batch_text(r.setting)}"
            (line,) = ax.plot(r.engine_loss, lw=2, alpha=0.6, label=f"engine: {label}")
            ax.plot(r.torch_loss, "--", color=line.get_color(), lw=1, label="torch (dashed)" if r is runs[0] else None)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"{dataset}: engine (solid) and torch (dashed) overlaid")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def _plot_boundary(run: Run, data, path: Path) -> None:
    plt = _pyplot()
    X, y = data
    n = 50
    xs = [-1.5 + 4.0 * i / (n - 1) for i in range(n)]
    ys = [-1.0 + 2.5 * j / (n - 1) for j in range(n)]
    grid = [[x, yv] for yv in ys for x in xs]
    scores = predict(run.model, grid)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.contourf(xs, ys, [[1.0 if scores[j * n + i] > 0 else 0.0 for i in range(n)] for j in range(n)],
                levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=["#08519c" if t == 0 else "#a63603" for t in y], s=14)
    s = run.setting
    _save(fig, path, f"moons: engine MLP(2, [16, 16, 1]), {s.epochs} epochs of {s.optimizer}, {_batch_text(s)}")
    plt.close(fig)


def _plot_polynomial(run: Run, data, path: Path) -> None:
    plt = _pyplot()
    X, y = data
    xs = [-1 + 2 * i / 200 for i in range(201)]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter([x[0] for x in X], y, s=12, label="noisy samples")
    ax.plot(xs, predict(run.model, [[x] for x in xs]), "r-", label="fitted by the engine")
    ax.plot(xs, [sum(k * x ** i for i, k in enumerate(TRUE_K)) for x in xs], "k--", lw=1, label="true polynomial")
    ax.legend()
    s = run.setting
    _save(fig, path, f"polynomial fit: {s.optimizer}, {s.epochs} epochs, {_batch_text(s)}")
    plt.close(fig)


def render(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        s = r.setting
        rows.append([s.dataset, s.optimizer, "full" if s.batch_size is None else s.batch_size, s.epochs, s.lr,
                     f"{r.engine_loss[-1]:.6g}", f"{max(r.loss_diff):.2e}", f"{max(r.param_diff):.2e}",
                     "yes" if r.worst <= TOLERANCE else "NO",
                     f"{1e3 * r.engine_seconds / s.epochs:.1f} ms", f"{1e3 * r.torch_seconds / s.epochs:.1f} ms"])
    return "\n".join([
        "# Training parity with PyTorch", "",
        "The same model (the engine's seeded initialisation copied into torch float64), the same data, the same "
        "batch order, the same optimiser settings. After every epoch: the relative difference of the mean batch "
        "loss, and max |p_engine - p_torch| / max |p_torch| over all parameters. Torch runs batched (nn.Linear, "
        "summing in its own order), so differences are rounding, compounded over the epochs. Times per epoch are "
        "measured with the garbage collector on, after gc.freeze() has set aside the objects of the imports.", "",
        tabulate(rows, ["data", "optimiser", "batch", "epochs", "lr", "final loss", "largest loss difference",
                        "largest parameter difference", f"within {TOLERANCE:g}", "engine / epoch", "torch / epoch"],
                 tablefmt="github"), "",
        "![losses](losses.png)", "", "![moons](moons.png)", "", "![polynomial](polynomial.png)", "",
        "![the tanh neuron after backward](neuron.svg)", ""])


def write_neuron_graph(path: Path) -> None:
    """micrograd's tanh neuron, after backward, as SVG."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2, b = Value(-3.0, "w1"), Value(1.0, "w2"), Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    render_graph(o, path)


def main(out: Path = Path("reports"), epochs: int = 100, settings: list[Setting] | None = None,
         progress: Callable[[int, int, str], None] | None = None) -> list[Run]:
    """Every setting, its report and pictures."""
    import gc

    import torch  # noqa: F401  (imported before the freeze below)

    # torch and SymPy bring hundreds of thousands of long-lived objects; every full collection of
    # the cyclic collector would walk them all, doubling the engine's epoch time. Freezing them
    # (gc.freeze) takes them out of collections without turning the collector off.
    gc.collect()
    gc.freeze()
    try:
        folder = Path(out) / "training"
        folder.mkdir(parents=True, exist_ok=True)
        settings = settings or default_settings(epochs)
        runs = []
        for i, s in enumerate(settings):
            runs.append(train_pair(s))
            if progress:
                progress(i + 1, len(settings), f"{s.dataset} {s.optimizer}")
        _plot_losses(runs, folder / "losses.png")
        best = {}  # the lowest final loss of each dataset is the one pictured
        for r in runs:
            if r.setting.dataset not in best or r.engine_loss[-1] < best[r.setting.dataset].engine_loss[-1]:
                best[r.setting.dataset] = r
        if "moons" in best:
            _plot_boundary(best["moons"], two_moons(), folder / "moons.png")
        if "polynomial" in best:
            _plot_polynomial(best["polynomial"], polynomial_data(), folder / "polynomial.png")
        try:
            write_neuron_graph(folder / "neuron.svg")
        except (ImportError, RuntimeError):
            pass  # no Graphviz here: the report still renders, without the graph picture
        write_atomic(folder / "training.md", render(runs))
    finally:
        gc.unfreeze()
    return runs


__all__ = ["Polynomial", "Run", "Setting", "main", "polynomial_data", "train_pair", "two_moons"]
