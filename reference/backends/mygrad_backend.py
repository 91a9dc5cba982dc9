"""mygrad 2.x: first order by ``Tensor.backward`` on 0-d float64 tensors; no second order.

mygrad's ``backward`` stores each gradient as a plain NumPy array (``x.grad``), not as a graph, so
there is nothing to differentiate again: its Hessian is ``unsupported``.
"""
from __future__ import annotations

import warnings

import mygrad
import mygrad.nnet.activations
import numpy

from reference.backends.base import Backend
from reference.backends.external import system_namespace
from reference.core.errors import Unsupported

IMPORTS = "import mygrad as mg\nfrom mygrad.nnet.activations import relu, sigmoid, leaky_relu"



MYGRAD = system_namespace("mygrad", mygrad)


class MygradBackend(Backend):
    """Tensor.backward on 0-d float64 tensors (reverse mode); no second order."""

    name = "mygrad"
    method = "mygrad: Tensor.backward on 0-d float64 tensors (reverse mode)"
    rtol = 1e-10
    imports = IMPORTS

    def _compute(self, case, point):
        xs = [mygrad.tensor(float(x), dtype=numpy.float64) for x in point]
        with numpy.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's and mygrad's warnings only: the numbers stay mygrad's
            out = case.fn(MYGRAD, *xs)
            if not isinstance(out, mygrad.Tensor):
                return float(out), [0.0] * len(xs), None
            out.backward()
        return float(out.item()), [0.0 if x.grad is None else float(x.grad) for x in xs], None

    def _hessian(self, case, point) -> list[list[float]]:
        """mygrad cannot differentiate twice."""
        raise Unsupported("mygrad 2.x has no second order: backward stores x.grad as a plain NumPy array, "
                          "not as a graph that can be differentiated again")
