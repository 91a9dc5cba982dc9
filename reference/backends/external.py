"""What the other AD systems of the atlas share (jax, HIPS autograd, mygrad, tinygrad).

Each system is one module beside this one, imported only when its backend is made (so ``adcheck``
starts without loading any of them). Each registry row names the system's own function for the op
(``rule.systems.jax`` ...), how its users write it, where the system's derivative rule lives, or why
the system lacks it. A system that is not installed, or cannot run here, is a ``MissingSystem``:
every answer ``unsupported``, with that reason in one line.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from reference.backends.base import Backend, namespace
from reference.core.errors import Unsupported
from reference.core.systems import SYSTEMS, describe, missing_reason, version

__all__ = ["SYSTEMS", "MissingSystem", "describe", "make_system", "missing_reason", "system_namespace", "version"]

class MissingSystem(Backend):
    """A system that cannot run here: every answer is ``unsupported`` with the reason."""

    method = "(not available)"

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def _compute(self, case, point):
        raise Unsupported(f"{self.name} cannot run here: {self.reason}")

    def _hessian(self, case, point) -> list[list[float]]:
        """No Hessian either: the system cannot run."""
        raise Unsupported(f"{self.name} cannot run here: {self.reason}")


def make_system(name: str) -> Backend:
    """The backend of an atlas system, or a MissingSystem saying in one line why it cannot run."""
    why = missing_reason(name)
    if why:
        return MissingSystem(name, why)
    module, cls, _ = SYSTEMS[name]
    try:
        mod = importlib.import_module(f"{__package__}.{module}")
    except (ImportError, RuntimeError) as err:  # installed but broken (a missing shared library, a bad wheel)
        return MissingSystem(name, f"importing it failed: {type(err).__name__}: {err}")
    return getattr(mod, cls)()


def system_namespace(name: str, module, wrap: Callable | None = None) -> type:
    """The math namespace of a system: each registry op through the row's counterpart (``rule.systems.<name>``),
    Unsupported with the row's reason where the system lacks it. ``wrap`` turns plain numbers into the system's type.
    """
    def implement(rule):
        fn = getattr(rule.systems, name)
        if fn is None:
            why = rule.systems.lacks.get(name) or f"{name} has no {rule.name} (the registry row names none)"

            def lacks(*_, _why=why):
                raise Unsupported(_why)
            return lacks
        n = rule.arity
        if wrap is None:
            return lambda *args: fn(module, *args)
        return lambda *args: fn(module, *[wrap(a) for a in args[:n]], *args[n:])
    return namespace(implement, name)
