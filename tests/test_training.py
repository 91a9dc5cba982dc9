"""Training parity with torch, the tour's code blocks, the train command."""
import re
from pathlib import Path

from reference.output.training import TOLERANCE, Setting, main, train_pair

TOUR = Path(__file__).resolve().parent.parent / "docs" / "tour.md"


def test_parity_stays_within_tolerance_for_100_epochs():
    for optimizer, lr in (("sgd", 0.2), ("momentum", 0.05), ("adam", 0.01)):
        run = train_pair(Setting("moons", optimizer, None, 100, lr), hidden=(6,))
        assert len(run.loss_diff) == 100
        assert run.worst <= TOLERANCE, (optimizer, max(run.loss_diff), max(run.param_diff))
        assert run.engine_loss[-1] < run.engine_loss[0]


def test_minibatch_and_polynomial_parity():
    for dataset in ("moons", "polynomial"):
        run = train_pair(Setting(dataset, "adam", 20, 30, 0.01), hidden=(6,))
        assert run.worst <= TOLERANCE


def test_train_writes_report_and_pictures(tmp_path):
    runs = main(tmp_path, settings=[Setting("moons", "sgd", 20, 3, 0.1), Setting("polynomial", "adam", None, 3, 0.05)])
    folder = tmp_path / "training"
    assert "Training parity" in (folder / "training.md").read_text()
    for name in ("losses.png", "moons.png", "polynomial.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    assert len(runs) == 2


def test_every_code_block_of_the_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", TOUR.read_text(), flags=re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(TOUR), "exec"), namespace)  # the project's own documentation
    assert namespace["comparison"].ok
