"""Every backend behind one interface: ``evaluate(case, point) -> Result`` (and ``_hessian`` at order 2).

The other AD systems of the atlas (jax, autograd, mygrad, tinygrad; extra ``adcheck[atlas]``) are made
on demand: importing this package never imports them.
"""
from __future__ import annotations

from reference.backends.base import ERROR, FUNCTIONS, OK, UNSUPPORTED, Backend, Result
from reference.backends.engine import EngineBackend, load_class
from reference.backends.external import SYSTEMS, make_system
from reference.backends.finite_difference import Central, ComplexStep, FivePoint, Forward, Richardson
from reference.backends.forward import ForwardBackend
from reference.backends.pytorch import TorchBackend
from reference.backends.symbolic import DERIVATIONS, OracleBackend, SympyBackend
from reference.core.errors import Unsupported

__all__ = [
    "ATLAS_SYSTEMS",
    "BACKENDS",
    "DEFAULT_BACKENDS",
    "DERIVATIONS",
    "ERROR",
    "FUNCTIONS",
    "OK",
    "UNSUPPORTED",
    "Backend",
    "EngineBackend",
    "ForwardBackend",
    "OracleBackend",
    "Result",
    "SympyBackend",
    "TorchBackend",
    "Unsupported",
    "load_class",
    "make_backends",
]

# name -> factory, in the order reports show them
BACKENDS = {
    "engine": EngineBackend,
    "forward": ForwardBackend,
    "torch": TorchBackend,
    "sympy": SympyBackend,
    "fd-forward": Forward,
    "fd-central": Central,
    "fd-five-point": FivePoint,
    "fd-richardson": Richardson,
    "fd-complex-step": ComplexStep,
}
# The default run keeps to the project's own methods; the other AD systems are chosen by name.
DEFAULT_BACKENDS = tuple(BACKENDS)
ATLAS_SYSTEMS = tuple(SYSTEMS)  # jax, autograd, mygrad, tinygrad
BACKENDS.update({name: (lambda name=name: make_system(name)) for name in ATLAS_SYSTEMS})


def make_backends(names=DEFAULT_BACKENDS, engine: str | None = None) -> list[Backend]:
    """Backends by name; ``engine`` ('MODULE:CLASS') swaps in another micrograd-style engine."""
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend {unknown[0]!r}; known: {', '.join(BACKENDS)}")
    if engine and "forward" in names:
        if tuple(names) != DEFAULT_BACKENDS:
            raise ValueError("the forward backend is this project's engine in forward mode; it cannot run --engine")
        names = [n for n in names if n != "forward"]
    made = []
    for name in names:
        if name == "engine" and engine:
            made.append(EngineBackend(load_class(engine)))
        else:
            made.append(BACKENDS[name]())
    return made
