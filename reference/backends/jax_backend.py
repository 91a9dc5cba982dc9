"""JAX in float64 (``jax_enable_x64``): first order by ``jax.value_and_grad``, second by ``jax.hessian``.

Inputs are Python floats, as a reader passes them; each op is JAX's own function (``jax.nn.relu``,
``jax.nn.sigmoid``...), so the answers are JAX's rules as they are.
"""
from __future__ import annotations

import jax

from reference.backends.base import Backend
from reference.backends.external import system_namespace

jax.config.update("jax_enable_x64", True)

IMPORTS = "import jax, jax.numpy as jnp\njax.config.update('jax_enable_x64', True)"



JAX = system_namespace("jax", jax)


def _call(case):
    return lambda *xs: case.fn(JAX, *xs)


class JaxBackend(Backend):
    """jax.value_and_grad (reverse mode) and jax.hessian (forward over reverse), float64 on the CPU."""

    name = "jax"
    method = f"JAX {jax.__version__}: jax.value_and_grad, jax.hessian (float64, x64 enabled, CPU)"
    rtol = 1e-10
    imports = IMPORTS

    def _compute(self, case, point):
        n = len(point)
        xs = [float(x) for x in point]
        value, grads = jax.value_and_grad(_call(case), argnums=tuple(range(n)))(*xs)
        return float(value), [float(g) for g in grads], None

    def _hessian(self, case, point) -> list[list[float]]:
        """jax.hessian (jacfwd of jacrev): H[i][j] = d/dx_j of df/dx_i."""
        n = len(point)
        h = jax.hessian(_call(case), argnums=tuple(range(n)))(*[float(x) for x in point])
        return [[float(h[i][j]) for j in range(n)] for i in range(n)]
