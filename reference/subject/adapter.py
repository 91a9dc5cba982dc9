"""Talking to a learner's Value class: building nodes form by form, reading data and gradients.

Everything here runs where the engine runs (an isolated worker, or this process for a class
handed over as an object). The op spellings come from the registry (see ``ops.py``).
"""
from __future__ import annotations

import math
import operator
import os
import traceback
from numbers import Real

from reference.subject import ops as _ops
from reference.subject.load import engine_files

_PYTHON_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                     "**": operator.pow, "neg": operator.neg}
CHILDREN_ATTRS = ("_prev", "prev", "_children", "children", "_parents", "parents", "_inputs", "inputs")
OP_ATTRS = ("_op", "op", "_operation", "operation")
DATA_ATTRS = ("data", "value", "val", "_data", "_value", "x", "v")
# Exceptions that say "not this form" when an op's own code raises them (micrograd's pow asserts a number).
_REFUSALS = (NotImplementedError, AssertionError)


_REFERENCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the reference/ package
# What an engine's objects make Python raise even when the innermost frame is adcheck's own line that
# called them (an operator with no method, an attribute the node does not have, float semantics).
_FROM_DISPATCH = (TypeError, AttributeError, ArithmeticError, ValueError, RecursionError, MemoryError)


class InternalError(RuntimeError):
    """A bug of adcheck itself met where the engine runs (the message carries the worker's traceback)."""


def adcheck_bug(err: BaseException) -> bool:
    """Whether an exception is a bug of adcheck, not something the engine threw: raised by a line of
    reference/ itself (innermost frame), and not what calling into the engine makes Python raise."""
    if not isinstance(err, Exception) or isinstance(err, (*_FROM_DISPATCH, Lacks, Broken, InternalError)):
        return False
    if getattr(err, "adcheck_expected", False):
        return False
    frames = traceback.extract_tb(err.__traceback__)
    if not frames or any(os.path.basename(f.filename) == "load.py" and f.name == "load" for f in frames[-1:]):
        return False  # loading the engine: what fails there (no such class) is the engine's
    return os.path.abspath(frames[-1].filename).startswith(_REFERENCE + os.sep)


class Lacks(Exception):
    """The engine does not have this op in this form (the message says why)."""


class Broken(Exception):
    """The engine cannot be used at all (constructor, backward or gradients unusable)."""


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class ComplexResult(ArithmeticError):
    """The engine returned a complex number (Python's (-1)**0.5) where IEEE doubles give nan."""


def _as_float(x) -> float:
    if isinstance(x, complex):
        raise ComplexResult(f"returned the complex number {x!r} (Python's power of a negative base) "
                            "where IEEE doubles give nan")
    if _is_array(x):  # a 0-d or one-element numpy array: its one number
        x = x.reshape(-1)[0] if x.size == 1 else x
    return float(x)


class Adapter:
    """One learner class, its options, and how each op is reached in each form."""

    def __init__(self, cls: type, functions=None, grad_attr: str | None = None, backward_method: str | None = None):
        self.cls = cls
        self.functions = functions
        self.grad_attr = grad_attr
        self.backward_name = backward_method
        self.data_attr = None
        self.children_attr = None
        self.op_attr = None
        self.precision = "float64"
        self.notes: list[str] = []
        self.plan: dict[tuple[str, str], tuple[str, str]] = {}
        self.engine_files = engine_files(cls, functions)  # its package's modules and notebook cells included

    # -- reading and writing nodes ----------------------------------------------------
    def is_node(self, x) -> bool:
        return isinstance(x, self.cls)

    def leaf(self, x: float):
        return self.cls(x)

    def data(self, node) -> float:
        return _as_float(getattr(node, self.data_attr or "data"))

    def grad(self, node) -> float:
        g = getattr(node, self.grad_attr or "grad", 0.0)
        return 0.0 if g is None else _as_float(g)

    def backward(self, node) -> None:
        getattr(node, self.backward_name or "backward")()

    def children(self, node) -> tuple:
        if not self.children_attr:
            return ()
        got = getattr(node, self.children_attr, ())
        return tuple(got() if callable(got) else got)

    def op_label(self, node) -> str:
        return str(getattr(node, self.op_attr, "")) if self.op_attr else ""

    def raised_inside(self, err: BaseException) -> bool:
        """Whether the exception came out of the engine's own code (not from Python's operator dispatch)."""
        return any(frame.filename in self.engine_files for frame in traceback.extract_tb(err.__traceback__))

    def raised_by_statement(self, err: BaseException) -> bool:
        """Whether the engine raised it on purpose: the innermost frame of its own code is a `raise` line."""
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename in self.engine_files]
        return bool(frames) and (frames[-1].line or "").lstrip().startswith("raise")

    # -- detection --------------------------------------------------------------------
    def detect(self) -> dict:
        """Find the data, backward, gradient, children and op names; Broken if the engine is unusable."""
        cls = self.cls
        try:
            a = cls(0.7)
        except BaseException as err:
            if not isinstance(err, Exception):
                raise
            raise Broken(f"the constructor {cls.__name__}(0.7) raises {_describe(err)}") from None
        self.data_attr = next((n for n in DATA_ATTRS if _is_number(getattr(a, n, None))), None)
        if self.data_attr is None:
            fields = vars(a).items() if hasattr(a, "__dict__") else ()
            numbers = [n for n, v in fields if _is_number(v) and _close(v, 0.7)]
            if not numbers:
                raise Broken(f"{cls.__name__}(0.7) keeps its number in no attribute this checker can find "
                             f"(looked for {', '.join(DATA_ATTRS)})")
            self.data_attr = numbers[0]
        d = getattr(a, self.data_attr)
        if _dtype_name(d) == "float32" or (not _close(_as_float(getattr(cls(0.1), self.data_attr)), 0.1, 1e-12)
                                             and _close(_as_float(getattr(cls(0.1), self.data_attr)), 0.1, 1e-6)):
            self.precision = "float32"
            self.notes.append(f"{cls.__name__} keeps float32 numbers: judged at float32 tolerance")
        # one op that works, to find backward and the gradient
        out, leaves = None, ()
        for info in _ops.ops().values():
            try:
                leaves = tuple(cls(x) for x in info.probe)
                out = self.apply(info, info.primary_form, leaves, info.probe_params)
                if self.is_node(out):
                    break
            except Exception as err:  # the engine's (a lacking op, a raise in its code), never adcheck's
                if adcheck_bug(err):
                    raise
                out = None
        if out is None:
            raise Broken(f"no operation of {cls.__name__} works on two {cls.__name__}s "
                         "(tried every op of the registry)")
        if self.backward_name is None:
            if callable(getattr(out, "backward", None)):
                self.backward_name = "backward"
            else:
                found = sorted((n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))
                                and ("backward" in n.lower() or "backprop" in n.lower())), key=len)
                if not found:
                    raise Broken(f"{cls.__name__} has no backward method (give its name with --backward-method)")
                self.backward_name = found[0]
                self.notes.append(f"backward is {cls.__name__}.{found[0]}()")
        elif not callable(getattr(out, self.backward_name, None)):
            raise Broken(f"{cls.__name__} has no method {self.backward_name} (from --backward-method)")
        before = {n: _as_float(v) for n, v in vars(leaves[0]).items() if _is_number(v)} \
            if hasattr(leaves[0], "__dict__") else {}
        self.backward(out)
        if self.grad_attr is None:
            if _is_number(getattr(leaves[0], "grad", None)):
                self.grad_attr = "grad"
            else:
                after = vars(leaves[0]) if hasattr(leaves[0], "__dict__") else {}
                changed = [n for n, v in after.items() if _is_number(v) and n != self.data_attr
                           and not (n in before and before[n] == _as_float(v))]
                changed.sort(key=lambda n: ("grad" not in n.lower(), len(n)))
                if not changed:
                    raise Broken(f"after {self.backward_name}(), no attribute of a {cls.__name__} holds a gradient "
                                 "(give its name with --grad-attr)")
                self.grad_attr = changed[0]
                self.notes.append(f"gradients are read from .{changed[0]}")
        elif not _is_number(getattr(leaves[0], self.grad_attr, None)):
            raise Broken(f"after {self.backward_name}(), {cls.__name__}.{self.grad_attr} (from --grad-attr) "
                         "is not a number")
        for name in CHILDREN_ATTRS:
            try:
                kids = getattr(out, name, None)
                kids = tuple(kids() if callable(kids) else kids) if kids is not None else ()
            except Exception as err:  # a property of the engine's that raises, a non-iterable
                if adcheck_bug(err):
                    raise
                continue
            if kids and all(self.is_node(k) for k in kids) and any(k is leaves[0] for k in kids):
                self.children_attr = name
                break
        self.op_attr = next((n for n in OP_ATTRS if isinstance(getattr(out, n, None), str)), None)
        self.notes += self.near_misses()
        return self.describe()

    def describe(self) -> dict:
        return {"data": self.data_attr, "grad": self.grad_attr, "backward": self.backward_name,
                "children": self.children_attr, "op": self.op_attr, "precision": self.precision,
                "notes": list(self.notes)}

    # -- building nodes ---------------------------------------------------------------
    def _call(self, info, node, rest, params, how: str):
        kind, name = how.split(":", 1)
        if kind in ("method", "dunder"):
            return getattr(node, name)(*rest, *params)
        return getattr(self.functions, name)(node, *rest, *params)

    def _callers(self, info) -> list[str]:
        """Ways to call a function-like op: methods of the class, then functions of --functions.

        Names are matched as learners spell them: case and underscores aside (ReLU, leakyReLU, Tanh,
        Exp), and Python's own dunder of the name (``__abs__`` for abs(v)).
        """
        names = list(dict.fromkeys(n for n in (info.method, *info.names) if n))
        found = []
        for kind, holder in (("method", self.cls), ("function", self.functions)):
            if holder is None:
                continue
            public = _spellings(holder)
            for n in names:
                if callable(getattr(holder, n, None)):
                    found.append(f"{kind}:{n}")
                for spelled in public.get(_normal(n), ()):
                    if spelled != n:
                        found.append(f"{kind}:{spelled}")
            if kind == "method":
                found += [f"dunder:__{n}__" for n in names if callable(getattr(holder, f"__{n}__", None))
                          and f"__{n}__" not in vars(object)]
        return list(dict.fromkeys(found))

    def near_misses(self) -> list[str]:
        """Public methods (and --functions) whose names are close to an op's but match none: notes saying
        how to map them."""
        import difflib
        wanted = {}
        for info in _ops.ops().values():
            for n in (info.method, *info.names, info.name):
                if n:
                    wanted.setdefault(_normal(n), info.name)
        notes = []
        for kind, holder in (("method", self.cls), ("function", self.functions)):
            if holder is None:
                continue
            for normal, spelled in _spellings(holder).items():
                if normal in wanted or len(normal) < 3:
                    continue
                close = difflib.get_close_matches(normal, list(wanted), n=1, cutoff=0.8)
                if not close:
                    continue
                op = wanted[close[0]]
                name = spelled[0]
                if _ops.ops()[op].operator or self._callers(_ops.ops()[op]):
                    continue  # the op is reached some other way
                where = f"{self.cls.__name__}.{name}" if kind == "method" else f"the function {name}"
                notes.append(f"{where} looks like {op} but its name is not one adcheck knows: {op} is checked only "
                             f"if it is reachable as {op} (e.g. add `{op} = {name}` to the "
                             f"{'class' if kind == 'method' else 'module'})")
        return notes

    def native(self, info, form: str, inputs, params):
        """Build the op in this form as the engine spells it (AttributeError/TypeError if it cannot)."""
        if info.operator:
            fn = _PYTHON_OPERATORS[info.operator]
            if form == "-V":
                return fn(inputs[0])
            if form == "V op c" and info.params:
                return fn(inputs[0], *params)
            return fn(*inputs)
        how = self.plan.get((info.name, "call"), ("native", ""))[1] or next(iter(self._callers(info)), "")
        if not how:
            spellings = " / ".join(dict.fromkeys(n for n in (info.method, *info.names) if n))
            raise Lacks(f"no method or function {spellings}")
        return self._call(info, inputs[0], inputs[1:], params, how)

    def apply(self, info, form: str, inputs, params=()):
        """The op on engine nodes or numbers, following the plan found by probing."""
        step = self.plan.get((info.name, form))
        if step is not None and step[0] == "lacks":
            raise Lacks(step[1])
        if step is not None and step[0] == "lift":
            inputs = tuple(x if self.is_node(x) else self.leaf(x) for x in inputs)
            form = "V op V" if info.operator else "call"
        return self.native(info, form, inputs, params)


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def _spellings(holder) -> dict[str, list[str]]:
    """Public callables of a class or module, by normalised name (case and underscores aside)."""
    out: dict[str, list[str]] = {}
    for n in dir(holder):
        if n.startswith("_"):
            continue
        try:
            attr = getattr(holder, n)
        except AttributeError:
            continue
        if callable(attr) and not isinstance(attr, type):
            out.setdefault(_normal(n), []).append(n)
    return out


def _is_array(x) -> bool:
    """A numpy-like array (duck-typed: numpy is not imported here)."""
    return hasattr(x, "dtype") and hasattr(x, "shape") and hasattr(x, "reshape") and hasattr(x, "size")


def _is_number(x) -> bool:
    """A real number: a Python or numpy scalar, or a 0-d / one-element numpy array of floats or ints."""
    if isinstance(x, bool):
        return False
    if isinstance(x, Real) or type(x).__name__ in ("float32", "float64", "float16"):
        return True
    if _is_array(x):
        try:
            return x.size == 1 and getattr(x.dtype, "kind", "") in "fiu"
        except TypeError:
            return False
    return False


def _dtype_name(x) -> str:
    """'float32' for numpy float32 scalars and arrays, else the type's or dtype's name."""
    dtype = getattr(x, "dtype", None)
    return str(dtype) if dtype is not None else type(x).__name__


def _close(a, b, tol=1e-12) -> bool:
    return _is_number(a) and abs(_as_float(a) - b) <= tol * max(1.0, abs(b))


def finite(x: float) -> bool:
    return math.isfinite(x)
