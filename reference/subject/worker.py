"""Isolation: the engine runs in a worker process with a time budget per request.

A hang becomes ``timeout``; ``sys.exit``, ``os._exit``, a segfault or a ``KeyboardInterrupt``
raised by the engine becomes ``crash`` (with the exit code or signal). The worker is then
replaced and the next request goes on. The engine's prints are captured, never mixed into
adcheck's output. Cases travel by name (corpus), as expression text, or by value
(cloudpickle: test functions).

Each worker is a fresh interpreter (``python -c`` running :func:`main`), not a child forked from
this process: so it starts from any host, a daemonic process included (a Dask worker, a
``multiprocessing`` pool worker), and inherits nothing but its spec. Requests and answers are
pickled over two pipes of their own; the worker's stdout and stderr go nowhere.
"""
from __future__ import annotations

import atexit
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from reference.core.errors import Unsupported
from reference.corpus.cases import by_name
from reference.corpus.parser import to_case
from reference.subject import ops as _ops
from reference.subject.adapter import _describe, adcheck_bug
from reference.subject.notebook import NotebookCellError, code_location
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
    """How a worker finds a case: by corpus name, by expression text, or by value (cloudpickle).

    Workers are fresh interpreters (not forks), so a case this process made travels as data.
    """
    try:
        if by_name(case.name) is case:
            return ("corpus", case.name)
    except LookupError:
        pass
    if "expression" in case.tags and len(case.points) == 1:
        return ("expression", case.name, case.variables, case.points[0].values)
    key = id(case)
    if key not in _LOCAL_CASES:
        _LOCAL_CASES[key] = ("pickled", _dumps_by_value(case))
    return _LOCAL_CASES[key]


def _dumps_by_value(obj) -> bytes:
    try:
        import cloudpickle
    except ImportError:  # plain pickle: cases whose function is importable by name
        import pickle
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def _resolve(ref):
    if ref[0] == "corpus":
        return by_name(ref[1])
    if ref[0] == "expression":
        return to_case(ref[1], dict(zip(ref[2], ref[3])))
    if ref[0] == "pickled":
        import pickle
        return pickle.loads(ref[1])
    raise UnknownCase(ref[0])


def op_location(adapter, op: str, kind: str = "") -> dict:
    """Where the engine builds ``op``: ``{"file", "line", "function"}`` ({} if unknown).

    For a ``rule`` finding, where its backward step is written: a function class's ``backward``
    (MiniTorch's ``Sigmoid.backward``), the function a ``_backward`` closure calls (``sqrt_backward``),
    or the first line of the closure's body; else the method or operator that builds the node. The
    file is the engine's own (``<NB.ipynb cell N>`` for a notebook's cell); ``describe_location`` words it.
    """
    info = _ops.ops().get(op)
    if info is None:
        return {}
    cls = adapter.cls
    how = adapter.plan.get((op, "call"), ("native", ""))[1]
    if info.operator:
        names = [_ops.DUNDERS[info.operator][0]]
    elif how.startswith("method:"):
        names = [how.split(":", 1)[1]]
    else:
        names = list(dict.fromkeys(n for n in (info.method, *info.names) if n))
    for name in names:
        target = getattr(cls, name, None)
        if target is None and how.startswith("function:"):
            target = getattr(adapter.functions, how.split(":", 1)[1], None)
        where = code_location(target) if target is not None else {}
        if where.get("file"):
            if kind == "rule":
                return _backward_location(target, cls) or where
            return where
    return {}


def _backward_location(target, cls: type) -> dict:
    func = getattr(target, "__func__", target)
    code, scope = getattr(func, "__code__", None), getattr(func, "__globals__", {})
    if code is None:
        return {}
    for name in code.co_names:  # Sigmoid.apply(self): the function class's backward
        found = scope.get(name)
        if (isinstance(found, type) and callable(getattr(found, "backward", None)) and not issubclass(found, cls)
                and not issubclass(cls, found)):
            return code_location(found.backward)
    for inner in code.co_consts:  # out._backward = lambda: sqrt_backward(self, out), or def _backward(): ...
        if not (isinstance(inner, type(code)) and ("backward" in inner.co_name or inner.co_name == "<lambda>")):
            continue
        for name in inner.co_names:
            found = scope.get(name)
            if callable(found) and hasattr(found, "__code__") and "backward" in name:
                return code_location(found)
        lines = sorted({line for _, _, line in inner.co_lines() if line and line > inner.co_firstlineno})
        if lines:
            return {"file": inner.co_filename, "line": lines[0],
                    "function": getattr(inner, "co_qualname", inner.co_name)}
    return {}


class UnknownCase(LookupError):
    """A case reference this worker cannot read."""


def _dispatch(tasks, request):
    name, args = request
    if name == "where":
        return op_location(tasks.adapter, *args)
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
        skipped = getattr(sys.modules.get(tasks.adapter.cls.__module__), "__adcheck_skipped__", None)
        if skipped:  # a notebook's magics and shell lines: not Python, not run, and said
            tasks.adapter.notes.append(f"not Python, skipped: {'; '.join(skipped)}")
        if spec is not None and spec.clash:  # a package named like one of this project's: loaded apart, and said
            tasks.adapter.notes.append(spec.clash)
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
    if isinstance(err, NotebookCellError):
        return Failure("timeout" if err.timed_out else "raises", str(err), err.exception)
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


class _Pipes:
    """One end of a worker's two pipes, read and written as one connection."""

    def __init__(self, read_fd: int, write_fd: int):
        self.reader = Connection(read_fd, writable=False)
        self.writer = Connection(write_fd, readable=False)

    def send(self, obj) -> None:
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout: float = 0.0) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        self.reader.close()
        self.writer.close()


_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding reference/ (and autodiff/)
# The worker's first lines: drop the current folder from sys.path (a learner's autodiff.py there must not
# shadow this project's), make sure this project comes first, then serve.
_BOOT = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; sys.path.insert(0, sys.argv[1]); "
         "from reference.subject.worker import main; main(sys.argv[2:])")


def main(argv: list[str]) -> None:
    """A worker process: read the engine's spec from the pipe, load it, answer requests until the pipe closes."""
    read_fd, write_fd, parent = int(argv[0]), int(argv[1]), int(argv[2])
    conn = _Pipes(read_fd, write_fd)
    _watch_parent(parent)
    try:
        spec, cls, plan = conn.recv()
    except (EOFError, OSError):
        os._exit(0)
    _serve(conn, spec, cls, plan)
    os._exit(0)


def _watch_parent(parent: int) -> None:
    """Stop when the process that started this worker is gone (its pipes may outlive it in a grandchild)."""
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="adcheck-worker-parent-watch").start()


class _Process:
    """The worker's process: a ``subprocess.Popen`` with the few names the code below reads."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen

    @property
    def exitcode(self):
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        self.popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


class Isolated:
    """Requests to the engine in a worker process (a fresh interpreter); a worker that dies or hangs is replaced."""

    def __init__(self, spec=None, cls=None, timeout: float = 5.0, setup_timeout: float = 30.0):
        self.spec, self.cls, self.timeout, self.setup_timeout = spec, cls, timeout, setup_timeout
        self.plan: dict = {}
        self.process = None
        self.conn = None
        self.output: list[str] = []
        self.restarts = 0
        self.set_up = False  # "setup" answered once: a replacement worker detects the engine's names again

    def _spawn(self):
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        env = dict(os.environ)
        env["MPLBACKEND"] = "Agg"  # a notebook's matplotlib draws nowhere
        env.pop("PYTHONSTARTUP", None)
        try:
            popen = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _PROJECT_ROOT, str(to_child_r), str(to_parent_w), str(os.getpid())],
                pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env, close_fds=True, start_new_session=True)
        finally:
            os.close(to_child_r)
            os.close(to_parent_w)
        return _Process(popen), _Pipes(to_parent_r, to_child_w)

    def _start(self):
        try:
            process, conn = self._spawn()
        except OSError as err:  # no interpreter to start (an embedded Python), no pipes or processes left
            return Failure("crash", f"could not start the engine's worker process: {err}")
        _LIVE.add(self)
        self.process, self.conn = process, conn
        try:
            conn.send((self.spec, self.cls, dict(self.plan)))
        except (OSError, EOFError):
            self.stop()
            return Failure("crash", describe_exit(process.exitcode))
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
        if getattr(self, "process", None) is not None or getattr(self, "conn", None) is not None:
            self.stop()


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
            if name == "where":
                return op_location(self.tasks.adapter, *args)
            return getattr(self.tasks, name)(*args)
        except Exception as err:  # sorted by _failure: the engine's raise, or adcheck's own bug (exit 4)
            return _failure(err)
        finally:
            sys.stdout, sys.stderr = old
            if captured.getvalue():
                self.output.append(captured.getvalue()[-_OUTPUT_LIMIT:])

    def stop(self) -> None:
        pass
