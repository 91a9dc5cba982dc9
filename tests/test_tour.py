"""docs/tour.md runs as a Jupyter notebook (nbformat + nbclient, kernel python3) and shows what it says."""
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TOUR = Path(__file__).resolve().parent.parent / "docs" / "tour.md"
ROOT = TOUR.parent.parent


def tour_notebook():
    """The tour as a notebook: each ```python block a code cell, the prose between as markdown."""
    text = TOUR.read_text()
    cells = []
    pos = 0
    for match in re.finditer(r"```python\n(.*?)```", text, flags=re.S):
        prose = text[pos:match.start()].strip()
        if prose:
            cells.append(nbformat.v4.new_markdown_cell(prose))
        cells.append(nbformat.v4.new_code_cell(match.group(1).rstrip()))
        pos = match.end()
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def _text(cell) -> str:
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("execute_result", "display_data"):
            out.append(o.data.get("text/plain", ""))
    return "".join(out)


@pytest.fixture(scope="module")
def executed():
    notebook = tour_notebook()
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_the_tour_runs_as_a_notebook_and_shows_its_outputs(executed):
    errors = [o for c in executed for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    first = _text(executed[0])
    assert first.splitlines()[0] == "-2.0"
    backward = _text(executed[2]).split()
    assert backward[:2] == ["1.0", "2.0"]
    training = next(_text(c) for c in executed if "accuracy" in _text(c))
    assert re.search(r"loss 0\.\d+ -> 0\.\d+, accuracy (9\d|100)%", training)
    parity = next(_text(c) for c in executed if "largest loss difference" in _text(c))
    assert float(parity.split()[3].rstrip(",")) < 1e-10


def test_a_learners_engine_is_checked_and_shown_as_a_table(executed):
    mine = next(c for c in executed if "my engine is right" in _text(c))
    assert "my engine is right: True" in _text(mine)
    shown = next(o for o in mine.outputs if o.output_type == "execute_result")
    table = shown.data.get("text/markdown", "")
    assert "engine (subject)" in table and "oracle" in table and "agree" in table
    slipped = next(c for c in executed if "the slipped engine is right" in _text(c))
    assert "the slipped engine is right: False" in _text(slipped)
    shown = next(o for o in slipped.outputs if o.output_type == "execute_result")
    assert "FAILED mismatch" in shown.data.get("text/markdown", "")


def test_draw_dot_of_a_learners_class_displays_as_a_picture(executed):
    last = executed[-1]
    shown = next(o for o in last.outputs if o.output_type == "execute_result")
    svg = shown.data.get("image/svg+xml", "")
    assert "<svg" in svg and "tanh" in svg


def test_without_dot_a_notebook_shows_a_one_line_hint():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nos.environ['PATH'] = ''\nfrom autodiff import Value, draw_dot\ndraw_dot(Value(0.5).tanh())")])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    (shown,) = [o for o in notebook.cells[0].outputs if o.output_type == "execute_result"]
    assert set(shown.data) == {"text/plain"}
    hint = shown.data["text/plain"]
    assert "dot" in hint and "apt-get install graphviz" in hint and "\n" not in hint.strip("'")


def test_check_engine_from_a_cell_names_the_slipped_op_and_its_line(executed):
    cell = next(c for c in executed if "check_engine(Tiny" in c.source)
    assert "False 1 ['tanh']" in _text(cell)
    shown = next(o for o in cell.outputs if o.output_type == "execute_result")
    text = shown.data.get("text/markdown", "")
    assert "WRONG" in text and "rule tanh" in text and "slipped_tanh's _backward" in text, text
