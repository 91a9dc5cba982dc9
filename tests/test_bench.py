"""The benchmark runs (tiny sizes), writes where it is told, and the engine's two gradient paths agree."""
import pytest

from autodiff import MLP, Value, grad
from autodiff.engine import VALUE_MATH
from autodiff.losses import mse
from reference.bench.step import PEERS
from reference.bench.page import main as bench_main
from reference.corpus.cases import CORPUS


def test_quick_benchmark_writes_its_report(tmp_path, capsys):
    assert bench_main(["--quick", "--out", str(tmp_path), "--rounds", "2"]) == 0
    text = (tmp_path / "bench.md").read_text()
    for peer in PEERS:
        assert peer in text
    for needed in ("1 thread", "2 threads", "compiled", "NumPy batch", "IQR", "cores", "UTC", "bytes/node"):
        assert needed in text
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_quick_benchmark_without_out_writes_to_a_temporary_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert bench_main(["--quick", "--rounds", "1"]) == 0
    assert not (tmp_path / "reports").exists()
    assert "quick run written to" in capsys.readouterr().out


@pytest.mark.parametrize("case", [c for c in CORPUS if "primitive" not in c.tags], ids=lambda c: c.name)
def test_backward_equals_grad(case):
    for point in case.points:
        xs = [Value(x) for x in point.values]
        out = case.fn(VALUE_MATH, *xs)
        out.backward()
        for x, via_grad in zip(xs, grad(out, xs)):
            # Equal as numbers (0.0 and -0.0 alike).
            assert x.grad == via_grad.data or (x.grad != x.grad and via_grad.data != via_grad.data)


def test_training_step_gradients_equal_grad():
    model = MLP(2, [16, 16, 1], seed=0)
    X = [[0.1 * i, -0.05 * i] for i in range(10)]
    loss = mse([model(x) for x in X], [0.5] * 10)
    loss.backward()
    assert [p.grad for p in model.parameters()] == [g.data for g in grad(loss, model.parameters())]
