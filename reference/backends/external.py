"""What the other AD systems of the atlas share (jax, HIPS autograd, mygrad, tinygrad).

Each system is one module beside this one, imported only when its backend is made (so ``adcheck``
starts without loading any of them). A module gives, per registry op, the system's own function
(``Counterpart``: how to call it, how a reader writes it, and where the system's rule for its
derivative lives), or the reason the system lacks it. A system that is not installed, or cannot
run here, is a ``MissingSystem``: every answer ``unsupported``, with that reason in one line.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from autodiff.rules import RULES

from ..systems import SYSTEMS, describe, missing_reason, version
from .base import Backend, Unsupported, namespace

__all__ = ["SYSTEMS", "Counterpart", "Lacks", "MissingSystem", "describe", "make_system", "missing_reason",
           "system_namespace", "version"]

@dataclass(frozen=True)
class Counterpart:
    """One op in another system: ``fn(module, *inputs, *params)``, its spelling and its rule's home.

    ``text`` is a format string over the inputs and params ({0}, {1}, ...) in the system's own API,
    as a reader would write it; ``source`` names the file and function holding the derivative rule.
    """

    fn: Callable
    text: str
    source: str


@dataclass(frozen=True)
class Lacks:
    """The system has no such op: the reason, in one sentence."""

    reason: str


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
    except ImportError as err:  # the system is installed but broken (a missing shared library, a bad wheel)
        return MissingSystem(name, f"importing it failed: {type(err).__name__}: {err}")
    return getattr(mod, cls)()


def system_namespace(name: str, module, ops: dict, wrap: Callable | None = None) -> type:
    """The math namespace of a system: each registry op through its counterpart, Unsupported where it lacks one.

    ``ops`` maps op names to a Counterpart or Lacks; ``wrap`` converts plain numbers to the system's type.
    """
    def implement(rule):
        entry = ops.get(rule.name)
        if entry is None:
            return None
        if isinstance(entry, Lacks):
            def lacks(*_, _why=entry.reason):
                raise Unsupported(_why)
            return lacks
        n = rule.arity
        if wrap is None:
            return lambda *args: entry.fn(module, *args)
        return lambda *args: entry.fn(module, *[wrap(a) for a in args[:n]], *args[n:])
    return namespace(implement, name)


def counterpart_text(ops: dict, op: str, inputs: list[str], params: tuple = ()) -> str:
    """How the system spells ``op`` on the named inputs (and param values), e.g. 'jax.nn.relu(x)'."""
    entry = ops.get(op)
    if not isinstance(entry, Counterpart):
        return ""
    return entry.text.format(*inputs, *[repr(float(p)) for p in params])


def check_table(ops: dict, system: str) -> None:
    """Every op named in ``ops`` is a registry row (a typo is an error at import, not a silent gap)."""
    unknown = set(ops) - set(RULES)
    if unknown:
        raise KeyError(f"{system}: no registry op {sorted(unknown)}")
