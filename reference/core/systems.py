"""The other AD systems of the atlas, by name: which package provides each, its version, why it cannot run.

Nothing here imports a system (``adcheck list backends`` and start-up stay fast); the backends
themselves are in ``reference.backends`` (one module per system).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil

__all__ = ["SYSTEMS", "describe", "missing_reason", "version"]

# backend name -> (module in reference.backends, class, the distribution that provides the system)
SYSTEMS: dict[str, tuple[str, str, str]] = {
    "jax": ("jax_backend", "JaxBackend", "jax"),
    "autograd": ("hips_autograd", "AutogradBackend", "autograd"),
    "mygrad": ("mygrad_backend", "MygradBackend", "mygrad"),
    "tinygrad": ("tinygrad_backend", "TinygradBackend", "tinygrad"),
}


def version(name: str) -> str:
    """The installed version of a system's distribution ('' if not installed), without importing it."""
    try:
        return importlib.metadata.version(SYSTEMS[name][2])
    except importlib.metadata.PackageNotFoundError:
        return ""


def missing_reason(name: str) -> str:
    """Why the system cannot run here ('' if it can, as far as can be told without importing it)."""
    dist = SYSTEMS[name][2]
    if importlib.util.find_spec(dist) is None:
        return f"{dist} is not installed (pip install 'adcheck[atlas]')"
    if name == "tinygrad" and shutil.which("clang") is None:
        return "tinygrad's CPU device compiles its kernels with clang, which is not installed (apt-get install clang)"
    return ""


def describe(name: str) -> str:
    """'jax 0.10.2', or why it is missing."""
    why = missing_reason(name)
    return f"missing: {why}" if why else f"{SYSTEMS[name][2]} {version(name)}"


