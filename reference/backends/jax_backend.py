"""JAX in float64 (``jax_enable_x64``): first order by ``jax.value_and_grad``, second by ``jax.hessian``.

Inputs are Python floats, as a reader passes them; each op is JAX's own function (``jax.nn.relu``,
``jax.nn.sigmoid``...), so the answers are JAX's rules as they are.
"""
from __future__ import annotations

import jax

from .base import Backend
from .external import Counterpart as C, check_table, system_namespace

jax.config.update("jax_enable_x64", True)

IMPORTS = "import jax, jax.numpy as jnp\njax.config.update('jax_enable_x64', True)"
_LAX = "jax/_src/lax/lax.py"

# Temporary: the registry rows get these as their `jax` counterparts when the rows' Systems group lands.
OPS: dict = {
    "add": C(lambda j, x, y: x + y, "{0} + {1}", f"{_LAX}: add_p's JVP"),
    "sub": C(lambda j, x, y: x - y, "{0} - {1}", f"{_LAX}: sub_p's JVP"),
    "mul": C(lambda j, x, y: x * y, "{0} * {1}", f"{_LAX}: mul_p's JVP"),
    "div": C(lambda j, x, y: x / y, "{0} / {1}", f"{_LAX}: div_p's JVP (g / y and -g * x / y**2)"),
    "neg": C(lambda j, x: -x, "-{0}", f"{_LAX}: neg_p's JVP"),
    "powc": C(lambda j, x, c: x ** c, "{0} ** {1}",
              "jax/_src/numpy/ufuncs.py: power sends a float exponent to lax.pow (an int one to lax.integer_pow, "
              f"whose JVP is 0 for y = 0); {_LAX}: _pow_jvp_lhs is y * x**(y - 1) with no mask for a float y"),
    "pow": C(lambda j, x, y: x ** y, "{0} ** {1}",
             f"{_LAX}: _pow_jvp_lhs (y * x**(y - 1)) and _pow_jvp_rhs (log(_replace_zero(x)) * ans)"),
    "exp": C(lambda j, x: j.numpy.exp(x), "jnp.exp({0})", f"{_LAX}: exp_p's JVP (g * ans)"),
    "log": C(lambda j, x: j.numpy.log(x), "jnp.log({0})", f"{_LAX}: log_p's JVP (g / x)"),
    "tanh": C(lambda j, x: j.numpy.tanh(x), "jnp.tanh({0})",
              f"{_LAX}: tanh_p's JVP, (g + g * ans) * (1 - ans) at default accuracy"),
    "sigmoid": C(lambda j, x: j.nn.sigmoid(x), "jax.nn.sigmoid({0})",
                 f"jax/_src/nn/functions.py: sigmoid is lax.logistic; {_LAX}: logistic_p's JVP, ans * (1 - ans)"),
    "relu": C(lambda j, x: j.nn.relu(x), "jax.nn.relu({0})",
              "jax/_src/nn/functions.py: relu is a custom_jvp whose rule is select(x > 0, g, 0)"),
    "sin": C(lambda j, x: j.numpy.sin(x), "jnp.sin({0})", f"{_LAX}: sin_p's JVP (g * cos(x))"),
    "cos": C(lambda j, x: j.numpy.cos(x), "jnp.cos({0})", f"{_LAX}: cos_p's JVP (-g * sin(x))"),
    "sqrt": C(lambda j, x: j.numpy.sqrt(x), "jnp.sqrt({0})", f"{_LAX}: sqrt_p's JVP (g * 0.5 / ans)"),
    "abs": C(lambda j, x: j.numpy.abs(x), "jnp.abs({0})",
             f"{_LAX}: _abs_jvp_rule, select(x >= 0, g, -g) for real x (so the slope at 0 is 1)"),
    "tan": C(lambda j, x: j.numpy.tan(x), "jnp.tan({0})", f"{_LAX}: tan_p's JVP (g * (1 + ans**2))"),
    "atan": C(lambda j, x: j.numpy.arctan(x), "jnp.arctan({0})", f"{_LAX}: atan_p's JVP (g / (1 + x**2))"),
    "log1p": C(lambda j, x: j.numpy.log1p(x), "jnp.log1p({0})", f"{_LAX}: log1p_p's JVP (g / (x + 1))"),
    "softplus": C(lambda j, x: j.nn.softplus(x), "jax.nn.softplus({0})",
                  "jax/_src/nn/functions.py: softplus is jnp.logaddexp(x, 0); jax/_src/lax/other.py: "
                  "_logaddexp_jvp, t * exp(x - out)"),
    "leaky_relu": C(lambda j, x, slope: j.nn.leaky_relu(x, slope), "jax.nn.leaky_relu({0}, {1})",
                    "jax/_src/nn/functions.py: leaky_relu is jnp.where(x >= 0, x, negative_slope * x), so the "
                    "slope at 0 is 1"),
    "maximum": C(lambda j, x, y: j.numpy.maximum(x, y), "jnp.maximum({0}, {1})",
                 f"{_LAX}: max_p's JVP through _balanced_eq (half the tangent to each input at a tie)"),
    "sinh": C(lambda j, x: j.numpy.sinh(x), "jnp.sinh({0})", f"{_LAX}: sinh_p's JVP (g * cosh(x))"),
    "cosh": C(lambda j, x: j.numpy.cosh(x), "jnp.cosh({0})", f"{_LAX}: cosh_p's JVP (g * sinh(x))"),
}
check_table(OPS, "jax")
JAX = system_namespace("jax", jax, OPS)


def _call(case):
    return lambda *xs: case.fn(JAX, *xs)


class JaxBackend(Backend):
    """jax.value_and_grad (reverse mode) and jax.hessian (forward over reverse), float64 on the CPU."""

    name = "jax"
    method = f"JAX {jax.__version__}: jax.value_and_grad, jax.hessian (float64, x64 enabled, CPU)"
    rtol = 1e-10
    ops = OPS
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
