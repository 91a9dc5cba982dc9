"""HIPS autograd: first order by ``autograd.value_and_grad``, second by ``grad`` of each partial.

Inputs are Python floats, as a reader passes them (so autograd's rules meet Python's float
semantics: ``0.0 ** -0.5`` raises ZeroDivisionError); each op is ``autograd.numpy``'s own function.
"""
from __future__ import annotations

import warnings

import autograd
import autograd.numpy
import autograd.scipy.special
import numpy

from reference.backends.base import Backend
from reference.backends.external import system_namespace

IMPORTS = "import autograd.numpy as np\nfrom autograd import grad"



AUTOGRAD = system_namespace("autograd", autograd)


def _call(case):
    return lambda xs: case.fn(AUTOGRAD, *xs)


class AutogradBackend(Backend):
    """autograd.value_and_grad over a tuple of Python floats; the Hessian is grad of each partial."""

    name = "autograd"
    method = "HIPS autograd: value_and_grad, grad of each partial (reverse over reverse, float64)"
    rtol = 1e-10
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
