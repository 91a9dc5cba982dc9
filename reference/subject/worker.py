"""Isolation: the engine runs in a worker process with a time budget per request.

A hang becomes ``timeout``; ``sys.exit``, ``os._exit``, a segfault or a ``KeyboardInterrupt``
raised by the engine becomes ``crash`` (with the exit code or signal). The worker is then
replaced and the next request goes on. The engine's prints are captured, never mixed into
adcheck's output. Cases travel by name (corpus), or by a key into a table this process had
when the worker was forked (ad-hoc expressions and test functions).
"""
from __future__ import annotations

import atexit
import io
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from reference.core.errors import Unsupported
from reference.corpus.cases import by_name
from reference.subject.adapter import _describe, adcheck_bug
from reference.subject.tasks import Tasks

_LOCAL_CASES: dict[int, object] = {}
_LIVE: set = set()


@atexit.register
def _stop_all() -> None:
    for worker in list(_LIVE):
        worker.stop()
_OUTPUT_LIMIT = 2000


@dataclass
class Failure:
    """A request that did not give an answer: kind is raises, crash or timeout (or lacks/unknown-case)."""

    kind: str
    message: str
    exception: str = ""
    output: str = ""


def case_ref(case):
    """How a worker finds a case: by corpus name, or by key in the table inherited at fork."""
    try:
        if by_name(case.name) is case:
            return ("corpus", case.name)
    except Exception:
        pass
    key = id(case)
    _LOCAL_CASES[key] = case
    return ("local", key)


def _resolve(ref):
    if ref[0] == "corpus":
        return by_name(ref[1])
    case = _LOCAL_CASES.get(ref[1])
    if case is None:
        raise UnknownCase(ref[1])
    return case


class UnknownCase(LookupError):
    """A case made after this worker was forked."""


def _dispatch(tasks, request):
    name, args = request
    if name in ("evaluate", "graph"):
        ref, point = args
        return getattr(tasks, name)(_resolve(ref), point)
    return getattr(tasks, name)(*args)


def _serve(conn, spec, cls, plan) -> None:
    """The worker's loop: one request, one reply, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for adcheck, which stops the worker
    sink = tempfile.TemporaryFile()
    os.dup2(sink.fileno(), 1)  # C-level and stray prints of the engine go here
    os.dup2(sink.fileno(), 2)
    captured = io.StringIO()
    sys.stdout = sys.stderr = captured
    try:
        tasks = Tasks(spec, cls, plan)
        conn.send(("ok", None, _take(captured)))
    except BaseException as err:  # an import that fails, exits or is interrupted
        conn.send(("fail", _failure(err), _take(captured)))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = _dispatch(tasks, request)
            reply = ("ok", answer, _take(captured))
        except BaseException as err:
            reply = ("fail", _failure(err), _take(captured))
        try:
            conn.send(reply)
        except Exception as err:  # an answer that cannot be pickled
            conn.send(("fail", Failure("raises", f"unpicklable answer: {err}", type(err).__name__), ""))
        if reply[0] == "fail" and reply[1].kind == "crash":
            os._exit(0)


def _failure(err: BaseException) -> Failure:
    if isinstance(err, SystemExit):
        return Failure("crash", f"the engine called sys.exit({err.code!r})", "SystemExit")
    if isinstance(err, KeyboardInterrupt):
        return Failure("crash", "the engine raised KeyboardInterrupt", "KeyboardInterrupt")
    if isinstance(err, Unsupported):
        return Failure("unsupported", str(err), "Unsupported")
    if isinstance(err, UnknownCase):
        return Failure("unknown-case", "unknown case")
    if adcheck_bug(err):  # adcheck's own bug where the engine runs: surfaces in the main process (exit 4)
        return Failure("internal", f"{_describe(err)} (in the engine's worker)\n"
                       + "".join(traceback.format_exception(err)),
                       type(err).__name__)
    if not isinstance(err, Exception):
        return Failure("crash", f"the engine raised {type(err).__name__}", type(err).__name__)
    return Failure("raises", _describe(err), type(err).__name__)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text[-_OUTPUT_LIMIT:]


def describe_exit(code: int | None) -> str:
    if code is None:
        return "the engine's process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the engine's process died of {name}"
    return f"the engine's process exited with status {code} (os._exit or a hard exit)"


class Isolated:
    """Requests to the engine in a forked worker; a worker that dies or hangs is replaced."""

    def __init__(self, spec=None, cls=None, timeout: float = 5.0, setup_timeout: float = 30.0):
        self.spec, self.cls, self.timeout, self.setup_timeout = spec, cls, timeout, setup_timeout
        self.plan: dict = {}
        self.process = None
        self.conn = None
        self.output: list[str] = []
        self.restarts = 0
        self.set_up = False  # "setup" answered once: a replacement worker detects the engine's names again

    def _start(self):
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_child, args=(child, parent, self.spec, self.cls, dict(self.plan)), daemon=True)
        process.start()
        _LIVE.add(self)
        child.close()
        self.process, self.conn = process, parent
        reply = self._receive(self.setup_timeout)
        if isinstance(reply, Failure):
            self.stop()
            return reply
        if self.set_up:  # the adapter's names (grad attribute, children, op) live in the worker: find them again
            try:
                self.conn.send(("setup", ()))
            except (OSError, EOFError):
                self.stop()
                return Failure("crash", describe_exit(process.exitcode))
            reply = self._receive(self.setup_timeout)
            if isinstance(reply, Failure):
                return reply
        return None

    def call(self, name: str, *args, timeout: float | None = None):
        """The answer, or a Failure."""
        if self.process is None:
            failure = self._start()
            if failure is not None:
                return failure
        try:
            self.conn.send((name, args))
        except (OSError, EOFError):
            self.stop()
            return Failure("crash", describe_exit(self.process.exitcode if self.process else None))
        reply = self._receive(self.timeout if timeout is None else timeout)
        if name == "setup" and not isinstance(reply, Failure) and "broken" not in reply:
            self.set_up = True
        if isinstance(reply, Failure) and reply.kind == "unknown-case" and name in ("evaluate", "graph"):
            self.stop()  # a case made after the worker was forked: a new worker inherits it
            return self.call(name, *args, timeout=timeout)
        return reply

    def _receive(self, timeout: float):
        conn, process = self.conn, self.process
        deadline = time.monotonic() + timeout
        try:
            ready = conn.poll(max(0.0, deadline - time.monotonic()))
        except (OSError, EOFError):
            ready = True
        if not ready:
            self.stop()
            return Failure("timeout", f"no answer within {timeout:g} s (--engine-timeout)")
        try:
            status, answer, output = conn.recv()
        except (EOFError, OSError):
            process.join(2)
            code = process.exitcode
            self.stop()
            return Failure("crash", describe_exit(code))
        if output:
            self.output.append(output)
        if status == "fail":
            answer.output = output
            if answer.kind == "crash":
                self.stop()
            return answer
        return answer

    def stop(self) -> None:
        _LIVE.discard(self)
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(2)
            self.restarts += 1
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass


def _child(conn, parent_end, spec, cls, plan):
    parent_end.close()
    _serve(conn, spec, cls, plan)
    os._exit(0)


class InProcess:
    """The same requests, in this process (for a class handed over as an object)."""

    def __init__(self, spec=None, cls=None, timeout: float = 5.0):
        self.tasks = Tasks(spec, cls)
        self.output: list[str] = []
        self.restarts = 0
        self.plan = self.tasks.adapter.plan

    def call(self, name: str, *args, timeout: float | None = None):
        captured = io.StringIO()
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = captured
        try:
            if name in ("evaluate", "graph"):
                return getattr(self.tasks, name)(args[0], args[1])
            return getattr(self.tasks, name)(*args)
        except Exception as err:
            return _failure(err)
        finally:
            sys.stdout, sys.stderr = old
            if captured.getvalue():
                self.output.append(captured.getvalue()[-_OUTPUT_LIMIT:])

    def stop(self) -> None:
        pass
