"""Networks, losses, optimisers against torch, training, drawing."""
import math
import random
import shutil

import pytest
import torch
from conftest import same_float

from autodiff import MLP, SGD, Adam, Layer, Momentum, Neuron, Value, draw_dot, fit, predict, render_graph
from autodiff.losses import bce_with_logits, hinge, mse


def test_mlp_shape_follows_micrograd():
    model = MLP(3, [4, 4, 1])
    assert [len(layer.neurons) for layer in model.layers] == [4, 4, 1]
    assert len(model.layers[0].neurons[0].w) == 3
    assert len(model.parameters()) == (3 + 1) * 4 + (4 + 1) * 4 + (4 + 1)
    first = model.layers[0].neurons[0]
    assert model.parameters()[:4] == first.w + [first.b]
    assert isinstance(model([1.0, 2.0, 3.0]), Value)


def test_initialisation_is_reproducible_from_a_seed():
    a, b, c = MLP(2, [3, 1], seed=7), MLP(2, [3, 1], seed=7), MLP(2, [3, 1], seed=8)
    data = lambda m: [p.data for p in m.parameters()]
    assert data(a) == data(b) != data(c)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
def test_activations_and_last_layer_linear(activation):
    model = MLP(2, [3, 2], activation=activation)
    assert all(n.activation == activation for n in model.layers[0].neurons)
    assert all(n.activation == "identity" for n in model.layers[-1].neurons)
    assert len(model([0.5, -0.5])) == 2


def test_bad_activation_and_bad_input_size():
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(2, [1], activation="swish")
    with pytest.raises(ValueError, match="takes 2 inputs"):
        Neuron(2)([1.0])
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)


def _torch_loss(name, p, t):
    if name == "mse":
        return torch.nn.functional.mse_loss(p, t)
    if name == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(p, t)
    return torch.relu(1 - p * t).mean()


@pytest.mark.parametrize("name,fn,targets", [
    ("mse", mse, [0.5, -1.0, 2.0]),
    ("bce", bce_with_logits, [1.0, 0.0, 1.0]),
    ("hinge", hinge, [1.0, -1.0, 1.0]),
])
@pytest.mark.parametrize("preds", [[0.3, -2.0, 0.0], [40.0, -40.0, 800.0]])
def test_losses_match_torch(name, fn, targets, preds):
    vs = [Value(p) for p in preds]
    out = fn(vs, targets)
    out.backward()
    tp = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    tout = _torch_loss(name, tp, torch.tensor(targets, dtype=torch.float64))
    tout.backward()
    # Without a log1p primitive, log(1 + e**-40) rounds to 0 where torch keeps 4e-18:
    # agreement is absolute at that scale, relative elsewhere.
    assert same_float(out.data, tout.item(), rtol=1e-12, atol=1e-16)
    for v, g in zip(vs, tp.grad.tolist()):
        assert same_float(v.grad, g, rtol=1e-12, atol=1e-16)


OPTIMISERS = [
    ("sgd", lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("momentum", lambda ps: Momentum(ps, lr=0.1, beta=0.9), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("nesterov", lambda ps: Momentum(ps, lr=0.05, beta=0.8, nesterov=True),
     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
    ("adam", lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ("adam-betas", lambda ps: Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=1e-6),
     lambda ps: torch.optim.Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=1e-6)),
]


@pytest.mark.parametrize("name,ours,theirs", OPTIMISERS, ids=[o[0] for o in OPTIMISERS])
def test_optimiser_matches_torch_for_20_steps(name, ours, theirs):
    start = [1.5, -0.7, 0.2]
    params = [Value(x) for x in start]
    tparams = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    opt, topt = ours(params), theirs(tparams)

    def f(m, a, b, c):  # a small non-quadratic objective, written once for both
        return m.sin(a * b) + (c - 1) ** 2 * a ** 2 + m.exp(b * c)

    class Eng:
        sin, exp = staticmethod(Value.sin), staticmethod(Value.exp)

    for _ in range(20):
        opt.zero_grad()
        f(Eng, *params).backward()
        opt.step()
        topt.zero_grad()
        f(torch, *tparams).backward()
        topt.step()
    for p, t in zip(params, tparams):
        assert same_float(p.data, t.item(), rtol=1e-13, atol=1e-15), (name, p.data, t.item())


def test_fit_trains_a_small_mlp_below_a_bound():
    rng = random.Random(1)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(40)]
    y = [1.0 if a * b > 0 else -1.0 for a, b in X]  # XOR-like quadrants
    model = MLP(2, [8, 8, 1], seed=3)
    history = fit(model, X, y, loss="mse", optimizer=Adam(model.parameters(), lr=0.05), epochs=150)
    assert len(history) == 150
    assert history[-1] < 0.1 < history[0]
    accuracy = sum((p > 0) == (t > 0) for p, t in zip(predict(model, X), y)) / len(y)
    assert accuracy >= 0.95


def test_fit_minibatch_and_stochastic_are_reproducible():
    X = [[x / 10] for x in range(-10, 11)]
    y = [math.sin(3 * x[0]) for x in X]
    runs = []
    for _ in range(2):
        model = MLP(1, [6, 1], seed=0)
        runs.append(fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.05), epochs=5, batch_size=4, seed=11))
    assert runs[0] == runs[1]
    model = MLP(1, [6, 1], seed=0)
    assert len(fit(model, X, y, epochs=2, batch_size=1)) == 2
    with pytest.raises(ValueError):
        fit(model, X, y[:-1])


def test_optimiser_rejects_bad_settings():
    with pytest.raises(ValueError):
        SGD([], lr=0.1)
    with pytest.raises(ValueError):
        SGD([Value(1.0)], lr=0)


def _neuron():
    x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def test_draw_dot_shows_labels_data_grads_and_ops():
    source = draw_dot(_neuron()).source
    assert "rankdir=LR" in source
    for text in ("x1", "w1", "| data 0.7071 | grad 1", "tanh", "label=\"*\""):  # ops as micrograd writes them
        assert text in source, text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
def test_render_graph_writes_svg_and_png(tmp_path):
    svg = render_graph(_neuron(), tmp_path / "neuron.svg")
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    png = render_graph(_neuron(), tmp_path / "neuron.png", rankdir="TB")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_graph_without_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render_graph(_neuron(), tmp_path / "x.svg")
    assert render_graph(_neuron(), tmp_path / "x.dot").read_text().startswith("digraph")


def test_fit_pauses_the_collector_while_training_and_restores_it():
    """fit's collector policy: off inside (seen from a callback), as it was after, also after an error."""
    import gc

    from autodiff import MLP, fit
    seen = []
    model = MLP(1, [3, 1], seed=0)
    X, y = [[0.1], [0.5], [0.9]], [0.2, 0.4, 0.1]
    assert gc.isenabled()
    history = fit(model, X, y, epochs=3, callback=lambda e, loss: seen.append(gc.isenabled()))
    assert seen == [False, False, False] and gc.isenabled()
    again = fit(MLP(1, [3, 1], seed=0), X, y, epochs=3, collector="default",
                callback=lambda e, loss: seen.append(gc.isenabled()))
    assert again == history and seen[-3:] == [True, True, True]

    def boom(epoch, loss):
        raise RuntimeError("planted")
    with pytest.raises(RuntimeError):
        fit(model, X, y, epochs=2, callback=boom)
    assert gc.isenabled()
    gc.disable()
    try:
        fit(model, X, y, epochs=1)
        assert not gc.isenabled()  # a collector the user turned off stays off
    finally:
        gc.enable()


def test_collector_paused_reclaims_cycles_made_inside_it():
    """Leaving the block collects the young generation, so a cycle made in a training loop does not linger."""
    import gc
    import weakref

    from autodiff import collector_paused

    class Node:
        pass
    with collector_paused():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None  # nothing collects while paused
    assert gc.isenabled() and ref() is None
