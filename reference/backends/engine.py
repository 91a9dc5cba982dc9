"""The engine under test: this project's autodiff, or any micrograd-style Value class."""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from functools import cached_property

from autodiff import Value

from .base import FUNCTIONS, Backend, Unsupported, namespace

# How to exercise each op on a micrograd-style class V; every call must give a node.
_PROBES: dict[str, Callable] = {
    "add": lambda V: [V(1.5) + V(0.5), V(1.5) + 2.0, 2.0 + V(1.5)],
    "sub": lambda V: [V(1.5) - V(0.5), V(1.5) - 2.0, 2.0 - V(1.5)],
    "mul": lambda V: [V(1.5) * V(0.5), V(1.5) * 2.0, 2.0 * V(1.5)],
    "div": lambda V: [V(1.5) / V(0.5), V(1.5) / 2.0, 2.0 / V(1.5)],
    "neg": lambda V: [-V(1.5)],
    "powc": lambda V: [V(1.5) ** 2, V(1.5) ** 0.5],
    "pow": lambda V: [V(1.5) ** V(0.5), 2.0 ** V(1.5)],
    **{name: (lambda V, _n=name: [getattr(V(0.5), _n)()]) for name in FUNCTIONS},
}


def load_class(spec: str) -> type:
    """Import ``MODULE:CLASS`` (the current directory is searched too); ValueError with one line if not."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"--engine wants MODULE:CLASS, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as err:
        raise ValueError(f"cannot import {module_name!r}: {type(err).__name__}: {err}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"{module_name!r} has no class {class_name!r}")
    return cls


class EngineBackend(Backend):
    """Reverse mode through a Value class; ops the class lacks are reported ``unsupported``."""

    method = "reverse-mode AD"
    rtol = 1e-10
    subject = True

    def __init__(self, value_class: type = Value, name: str = "engine") -> None:
        self.cls = value_class
        self.name = name
        self.label = f"{value_class.__module__}.{value_class.__qualname__}"

    @cached_property
    def support(self) -> dict[str, str]:
        """Op -> '' if the class does it (forward and backward), else why not."""
        found = {}
        for op, probe in _PROBES.items():
            try:
                for out in probe(self.cls):
                    float(out.data)
                    out.backward()
                found[op] = ""
            except Exception as err:
                found[op] = f"{type(err).__name__}: {err}".strip(": ")
        return found

    @property
    def missing(self) -> list[str]:
        return [op for op, why in self.support.items() if why]

    @cached_property
    def _namespace(self) -> type:
        cls = self.cls

        def method(name):
            return lambda v: getattr(v if isinstance(v, cls) else cls(v), name)()

        return namespace(**{n: method(n) for n in FUNCTIONS if not self.support.get(n)})

    def _compute(self, case, point):
        lacking = sorted(case.ops & set(self.missing))
        if lacking:
            raise Unsupported(f"{self.label} lacks {', '.join(lacking)}")
        xs = [self.cls(x) for x in point]
        out = case.fn(self._namespace, *xs)
        if not isinstance(out, self.cls):
            return float(out), [0.0] * len(xs), None
        out.backward()
        return out.data, [x.grad for x in xs], None
