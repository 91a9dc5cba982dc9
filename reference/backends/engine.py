"""The engine under test: this project's autodiff, or another engine (any micrograd-style class).

Another engine is reached through ``reference.subject``: loaded by module or by file path in an
isolated worker process (a class object handed over directly runs in this process), adapted
to its names, probed op by op and form by form, and evaluated through the plan that probing
found (constants lifted where a reflected operator is missing, lacking forms ``unsupported``).
"""
from __future__ import annotations

import math
import time
from functools import cached_property

from autodiff import RULES, Value, grad
from autodiff.engine import VALUE_MATH
from reference.backends.base import ERROR, OK, UNSUPPORTED, Backend, Result
from reference.core.errors import Unsupported
from reference.subject.load import EngineSpec, check_class_defined, parse_spec
from reference.subject.session import Subject
from reference.subject.worker import Failure

FLOAT32_MAX, FLOAT32_TINY = 3.4028234663852886e38, 1.1754943508222875e-38


def load_class(spec) -> EngineSpec:
    """Check ``MODULE:CLASS`` or ``path/to/file.py:CLASS`` without importing it; ValueError with one line if bad.

    The engine itself is imported later, in its isolated worker. An ``EngineSpec`` passes through.
    """
    if isinstance(spec, EngineSpec):
        return spec
    parsed = parse_spec(spec)
    check_class_defined(parsed)
    return parsed


class EngineBackend(Backend):
    """Reverse mode through a Value class; ops the class lacks are reported ``unsupported``."""

    name = "engine"
    method = "reverse-mode AD"
    rtol = 1e-10
    subject = True
    hessian_method = "reverse over reverse: grad(create_graph=True), then grad of each partial (both mixed orders)"
    hessian_rtol = 1e-10

    def __init__(self, value_class=Value, name: str = "engine") -> None:
        self.name = name
        if isinstance(value_class, str):
            value_class = load_class(value_class)
        self.native = value_class is Value
        if isinstance(value_class, EngineSpec):
            self.cls = None
            self.engine = Subject.shared(value_class)  # loaded and probed once per process
        else:
            self.cls = value_class
            self.engine = None if self.native else Subject.from_class(value_class)
        self.label = (f"{Value.__module__}.{Value.__qualname__}" if self.native else self.engine.label)

    # -- what the engine can do ---------------------------------------------------------
    @cached_property
    def support(self) -> dict[str, str]:
        """Op -> '' if the engine does it (in its defining form), else why not."""
        if self.native:
            return {op: "" for op in RULES}
        self.engine.prepare(diagnose_too=False)
        if self.engine.broken:
            return {op: self.engine.broken for op in RULES}
        return {op: self.engine.lacks.get(op, "") for op in RULES}

    @property
    def missing(self) -> list[str]:
        return [op for op, why in self.support.items() if why]

    @property
    def float32(self) -> bool:
        return bool(self.engine) and self.engine.detected.get("precision") == "float32"

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, case, point, order: int = 1) -> Result:
        if self.native or order != 1:  # another engine at order 2: ``_hessian`` says it is unsupported
            return super().evaluate(case, point, order)
        start = time.perf_counter()
        result = self._evaluate_subject(case, tuple(point))
        result.seconds = time.perf_counter() - start
        return result

    def _evaluate_subject(self, case, point) -> Result:
        engine = self.engine
        engine.prepare(diagnose_too=False)
        if engine.broken:
            return Result(self.name, UNSUPPORTED, message=f"the engine could not be checked: {engine.broken}")
        if self.float32:
            self.rtol = 1e-4
            self.unit_roundoff = 2.0 ** -24  # for the judge: float32's rounding instead of float64's
            why = _outside_float32(case, point)
            if why:
                return Result(self.name, UNSUPPORTED, message=why)
        got = engine.evaluate(case, point)
        if isinstance(got, Failure):
            if got.kind == "unsupported":
                return Result(self.name, UNSUPPORTED, message=got.message)
            return Result(self.name, ERROR, message=got.message, kind=got.kind if got.kind in ("crash", "timeout")
                          else "raises", exception=got.exception)
        value, grads = got
        return Result(self.name, OK, float(value), {v: float(g) for v, g in zip(case.variables, grads)})

    def _compute(self, case, point):  # this project's engine, in this process
        xs = [Value(x) for x in point]
        out = case.fn(VALUE_MATH, *xs)
        if not isinstance(out, Value):
            return float(out), [0.0] * len(xs), None
        out.backward()
        return out.data, [x.grad for x in xs], None

    def _hessian(self, case, point) -> list[list[float]]:
        """Reverse over reverse with this project's engine: row i is ``grad`` of the i-th partial."""
        if not self.native:
            raise Unsupported("order 2 needs grad(create_graph=True): another engine is checked at order 1 only")
        xs = [Value(float(x)) for x in point]
        out = case.fn(VALUE_MATH, *xs)
        if not isinstance(out, Value):
            return [[0.0] * len(xs) for _ in xs]
        return [[r.data for r in grad(g, xs)] for g in grad(out, xs, create_graph=True)]


def _outside_float32(case, point) -> str:
    """Why float32 cannot represent this point or a value on the way (the project's own graph tells)."""
    values = list(point)
    try:
        values += [n.data for n in case.engine_nodes(point)]
    except (ArithmeticError, ValueError, TypeError):  # the case cannot be run at this point: the inputs tell
        pass
    for v in values:
        if math.isfinite(v) and (abs(v) > FLOAT32_MAX or 0 < abs(v) < FLOAT32_TINY):
            return f"outside float32's range ({v:g} on the way): not judged for a float32 engine"
    return ""
