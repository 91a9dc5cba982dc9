"""The benchmark runs (tiny sizes), and the fast backward gives the same numbers as the reference chain rule."""
import pytest

from autodiff import MLP, Value, grad
from autodiff.engine import _backpropagate
from autodiff.losses import mse
from autodiff.rules import FLOAT
from reference.bench import main as bench_main
from reference.cases import _ENGINE_MATH, CORPUS


def test_quick_benchmark_writes_its_report(tmp_path, capsys):
    assert bench_main(["--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "bench.md").read_text()
    for peer in ("autodiff (this engine)", "micrograd 0.1.0", "torch, 0-d tensors", "torch, batched nn.Linear"):
        assert peer in text
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("case", [c for c in CORPUS if "primitive" not in c.tags], ids=lambda c: c.name)
def test_backward_equals_the_reference_chain_rule(case):
    for point in case.points:
        xs = [Value(x) for x in point.values]
        out = case.fn(_ENGINE_MATH, *xs)
        out.backward()
        reference = _backpropagate(out, 1.0, FLOAT)
        for x, via_grad in zip(xs, grad(out, xs)):
            expected = reference.get(x, 0.0)
            # Equal as numbers (0.0 and -0.0 alike: the fast path starts each sum at +0.0).
            assert x.grad == expected == via_grad.data or (x.grad != x.grad and expected != expected)


def test_training_step_gradients_equal_the_reference():
    model = MLP(2, [16, 16, 1], seed=0)
    X = [[0.1 * i, -0.05 * i] for i in range(10)]
    loss = mse([model(x) for x in X], [0.5] * 10)
    loss.backward()
    reference = _backpropagate(loss, 1.0, FLOAT)
    assert [p.grad for p in model.parameters()] == [reference[p] for p in model.parameters()]
