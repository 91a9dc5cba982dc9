"""HIPS autograd: first order by ``autograd.value_and_grad``, second by ``grad`` of each partial.

Inputs are Python floats, as a reader passes them (so autograd's rules meet Python's float
semantics: ``0.0 ** -0.5`` raises ZeroDivisionError); each op is ``autograd.numpy``'s own function.
"""
from __future__ import annotations

import warnings

import autograd
import autograd.numpy  # noqa: F401  (the namespace the counterparts call)
import autograd.scipy.special  # noqa: F401
import numpy

from .base import Backend
from .external import Counterpart as C, Lacks, check_table, system_namespace

IMPORTS = "import autograd.numpy as np\nfrom autograd import grad"
_VJPS = "autograd/numpy/numpy_vjps.py"
_NO_ACTIVATIONS = "HIPS autograd has no {what} (only autograd.numpy's ufuncs and autograd.scipy.special); its " \
                  "users write {spelling}"

# Temporary: the registry rows get these as their `autograd` counterparts when the rows' Systems group lands.
OPS: dict = {
    "add": C(lambda a, x, y: x + y, "{0} + {1}", f"{_VJPS}: the VJPs of anp.add"),
    "sub": C(lambda a, x, y: x - y, "{0} - {1}", f"{_VJPS}: the VJPs of anp.subtract"),
    "mul": C(lambda a, x, y: x * y, "{0} * {1}", f"{_VJPS}: the VJPs of anp.multiply"),
    "div": C(lambda a, x, y: x / y, "{0} / {1}", f"{_VJPS}: the VJPs of anp.true_divide (g / y, -g * x / y**2)"),
    "neg": C(lambda a, x: -x, "-{0}", f"{_VJPS}: the VJP of anp.negative"),
    "powc": C(lambda a, x, c: x ** c, "{0} ** {1}",
              f"{_VJPS}: anp.power's VJP in x, g * y * x ** where(y, y - 1, 1.0) (so 0 for y = 0)"),
    "pow": C(lambda a, x, y: x ** y, "{0} ** {1}",
             f"{_VJPS}: anp.power's VJPs, g * y * x ** where(y, y - 1, 1.0) and g * log(replace_zero(x, 1.0)) * ans"),
    "exp": C(lambda a, x: a.numpy.exp(x), "np.exp({0})", f"{_VJPS}: anp.exp's VJP (ans * g)"),
    "log": C(lambda a, x: a.numpy.log(x), "np.log({0})", f"{_VJPS}: anp.log's VJP (g / x)"),
    "tanh": C(lambda a, x: a.numpy.tanh(x), "np.tanh({0})", f"{_VJPS}: anp.tanh's VJP, g / cosh(x)**2"),
    "sigmoid": C(lambda a, x: a.scipy.special.expit(x), "autograd.scipy.special.expit({0})",
                 "autograd/scipy/special.py: expit's VJP, g * ans * (1 - ans)"),
    "relu": Lacks(_NO_ACTIVATIONS.format(what="relu", spelling="np.maximum(x, 0.)")),
    "sin": C(lambda a, x: a.numpy.sin(x), "np.sin({0})", f"{_VJPS}: anp.sin's VJP (g * cos(x))"),
    "cos": C(lambda a, x: a.numpy.cos(x), "np.cos({0})", f"{_VJPS}: anp.cos's VJP (-g * sin(x))"),
    "sqrt": C(lambda a, x: a.numpy.sqrt(x), "np.sqrt({0})",
              f"{_VJPS}: anp.sqrt's VJP, g * 0.5 * x**-0.5 (on a Python float 0.0 that power raises)"),
    "abs": C(lambda a, x: a.numpy.abs(x), "np.abs({0})",
             f"{_VJPS}: np_abs_vjp, g * replace_zero(x, 0) / replace_zero(ans, 1) (so 0 at 0)"),
    "tan": C(lambda a, x: a.numpy.tan(x), "np.tan({0})", f"{_VJPS}: anp.tan's VJP, g / cos(x)**2"),
    "atan": C(lambda a, x: a.numpy.arctan(x), "np.arctan({0})", f"{_VJPS}: anp.arctan's VJP, g / (1 + x**2)"),
    "log1p": C(lambda a, x: a.numpy.log1p(x), "np.log1p({0})", f"{_VJPS}: anp.log1p's VJP, g / (x + 1)"),
    "softplus": Lacks(_NO_ACTIVATIONS.format(what="softplus", spelling="np.logaddexp(x, 0.)")),
    "leaky_relu": Lacks(_NO_ACTIVATIONS.format(what="leaky_relu", spelling="np.where(x > 0, x, slope * x)")),
    "maximum": C(lambda a, x, y: a.numpy.maximum(x, y), "np.maximum({0}, {1})",
                 f"{_VJPS}: anp.maximum's VJPs through balanced_eq (half to each input at a tie)"),
    "sinh": C(lambda a, x: a.numpy.sinh(x), "np.sinh({0})", f"{_VJPS}: anp.sinh's VJP (g * cosh(x))"),
    "cosh": C(lambda a, x: a.numpy.cosh(x), "np.cosh({0})", f"{_VJPS}: anp.cosh's VJP (g * sinh(x))"),
}
check_table(OPS, "autograd")
AUTOGRAD = system_namespace("autograd", autograd, OPS)


def _call(case):
    return lambda xs: case.fn(AUTOGRAD, *xs)


class AutogradBackend(Backend):
    """autograd.value_and_grad over a tuple of Python floats; the Hessian is grad of each partial."""

    name = "autograd"
    method = "HIPS autograd: value_and_grad, grad of each partial (reverse over reverse, float64)"
    rtol = 1e-10
    ops = OPS
    imports = IMPORTS

    def _compute(self, case, point):
        with numpy.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's and autograd's warnings only: the numbers stay autograd's
            value, grads = autograd.value_and_grad(_call(case))(tuple(float(x) for x in point))
        return float(value), [float(g) for g in grads], None

    def _hessian(self, case, point) -> list[list[float]]:
        """Row i is autograd.grad of the i-th partial: H[i][j] = d/dx_j of df/dx_i."""
        f = _call(case)
        xs = tuple(float(x) for x in point)
        rows = []
        with numpy.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(len(xs)):
                row = autograd.grad(lambda v, i=i: autograd.grad(f)(v)[i])(xs)
                rows.append([float(h) for h in row])
        return rows
