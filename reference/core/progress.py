"""Progress of long work: a tqdm bar on a terminal, plain lines elsewhere.

    with Progress("run") as progress:
        for batch in harness.run(cases, progress=progress):
            ...

``progress(done, total, name)`` is the callback every long command already takes. On a terminal
it moves a tqdm bar. When the stream is not a terminal (CI, a pipe, a log file) it writes a
plain line at least every ``interval`` seconds (10 by default) saying what is done and what is
left, also while one long item is still running, and one last line at the end.
"""
from __future__ import annotations

import sys
import threading
import time

__all__ = ["Progress"]


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """A ``progress(done, total, name)`` callback; use it as a context manager (or call ``close()``)."""

    def __init__(self, what: str, stream=None, interval: float = 10.0, unit: str = "", tty: bool | None = None):
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.interval = float(interval)
        self.unit = unit
        if tty is None:
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.done = 0
        self.total: int | None = None
        self.name = ""
        self.start = time.monotonic()
        self._bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._last_line = ""
        if not self.tty and self.interval > 0:
            self._thread = threading.Thread(target=self._beat, daemon=True, name=f"adcheck-progress-{what}")
            self._thread.start()

    # -- the callback -------------------------------------------------------------------------
    def __call__(self, done: int, total: int, name: str = "") -> None:
        with self._lock:
            self.done, self.total, self.name = int(done), int(total), str(name)
            if self.tty:
                self._update_bar()
        if not self.tty and self.total is not None and self.done >= self.total:
            self._write(self.line())

    def _update_bar(self) -> None:
        if self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=self.total, desc=f"adcheck {self.what}", file=self.stream, unit=self.unit or "it",
                             dynamic_ncols=True, leave=True)
        bar = self._bar
        if bar.total != self.total:
            bar.total = self.total
        bar.set_postfix_str(self.name[:40], refresh=False)
        bar.update(self.done - bar.n)

    # -- plain lines ------------------------------------------------------------------------
    def line(self) -> str:
        """What is done and what is left, in one line."""
        elapsed = time.monotonic() - self.start
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            return f"adcheck {self.what}: started, nothing finished yet ({_duration(elapsed)})"
        left = max(0, self.total - self.done)
        text = f"adcheck {self.what}: {self.done} of {self.total}{unit} done, {left} left"
        if left and self.done:
            text += f", about {_duration(elapsed / self.done * left)} to go"
        text += f" ({_duration(elapsed)} so far"
        text += f"; last: {self.name})" if self.name else ")"
        return text

    def _write(self, text: str) -> None:
        with self._lock:
            if text == self._last_line or self._closed:
                return
            self._last_line = text
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._write(self.line())

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self._bar is not None:
            self._bar.close()
        self._closed = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
