"""Progress: a tqdm bar on a terminal, plain lines with what is done and left elsewhere."""
import io
import time

from reference.core.progress import Progress


def test_plain_lines_when_not_a_terminal_even_while_one_item_runs():
    out = io.StringIO()
    with Progress("run", stream=out, interval=0.05, unit="cases") as progress:
        progress(1, 4, "first")
        time.sleep(0.3)  # a long second item: lines keep coming
        progress(4, 4, "last")
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3
    assert "adcheck run: 1 of 4 cases done, 3 left" in lines[0] and "last: first" in lines[0]
    assert lines[-1].startswith("adcheck run: 4 of 4 cases done, 0 left")


def test_a_line_before_anything_is_done():
    out = io.StringIO()
    with Progress("train", stream=out, interval=0.05):
        time.sleep(0.2)
    assert "started, nothing finished yet" in out.getvalue()


def test_a_tqdm_bar_on_a_terminal():
    out = io.StringIO()
    with Progress("fuzz", stream=out, tty=True) as progress:
        for i in range(1, 6):
            progress(i, 5, f"{i} found")
    text = out.getvalue()
    assert "adcheck fuzz" in text and "5/5" in text and "\r" in text
