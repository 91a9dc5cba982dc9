"""mygrad 2.x: first order by ``Tensor.backward`` on 0-d float64 tensors; no second order.

mygrad's ``backward`` stores each gradient as a plain NumPy array (``x.grad``), not as a graph, so
there is nothing to differentiate again: its Hessian is ``unsupported``.
"""
from __future__ import annotations

import warnings

import mygrad
import mygrad.nnet.activations  # noqa: F401  (the namespace the counterparts call)
import numpy

from .base import Backend, Unsupported
from .external import Counterpart as C, Lacks, check_table, system_namespace

IMPORTS = "import mygrad as mg\nfrom mygrad.nnet.activations import relu, sigmoid, leaky_relu"
_MISC = "mygrad/math/misc/ops.py"
_ARITH = "mygrad/math/arithmetic/ops.py"

# Temporary: the registry rows get these as their `mygrad` counterparts when the rows' Systems group lands.
OPS: dict = {
    "add": C(lambda g, x, y: x + y, "{0} + {1}", f"{_ARITH}: Add.backward_var"),
    "sub": C(lambda g, x, y: x - y, "{0} - {1}", f"{_ARITH}: Subtract.backward_var"),
    "mul": C(lambda g, x, y: x * y, "{0} * {1}", f"{_ARITH}: Multiply.backward_var"),
    "div": C(lambda g, x, y: x / y, "{0} / {1}", f"{_ARITH}: Divide.backward_var"),
    "neg": C(lambda g, x: -x, "-{0}", f"{_ARITH}: Negative.backward_var"),
    "powc": C(lambda g, x, c: x ** c, "{0} ** {1}",
              f"{_ARITH}: Power.backward_var, grad * y * x ** where(y, y - 1, 1) (so 0 for y = 0)"),
    "pow": C(lambda g, x, y: x ** y, "{0} ** {1}",
             f"{_ARITH}: Power.backward_var, grad * y * x ** where(y, y - 1, 1) and grad * x**y * log(where(x, x, 1))"),
    "exp": C(lambda g, x: g.exp(x), "mg.exp({0})", "mygrad/math/exp_log/ops.py: Exp.backward_var"),
    "log": C(lambda g, x: g.log(x), "mg.log({0})", "mygrad/math/exp_log/ops.py: Log.backward_var"),
    "tanh": C(lambda g, x: g.tanh(x), "mg.tanh({0})",
              "mygrad/math/hyperbolic_trig/ops.py: Tanh.backward_var, grad * (1 - tanh(a)**2)"),
    "sigmoid": C(lambda g, x: g.nnet.activations.sigmoid(x), "sigmoid({0})",
                 "mygrad/nnet/activations/sigmoid.py: Sigmoid.backward_var, grad * s * (1 - s)"),
    "relu": C(lambda g, x: g.nnet.activations.relu(x), "relu({0})",
              "mygrad/nnet/activations/relu.py: Relu.backward_var (the mask x > 0)"),
    "sin": C(lambda g, x: g.sin(x), "mg.sin({0})", "mygrad/math/trigonometric/ops.py: Sin.backward_var"),
    "cos": C(lambda g, x: g.cos(x), "mg.cos({0})", "mygrad/math/trigonometric/ops.py: Cos.backward_var"),
    "sqrt": C(lambda g, x: g.sqrt(x), "mg.sqrt({0})", f"{_MISC}: Sqrt.backward_var, grad / (2 * sqrt(a))"),
    "abs": C(lambda g, x: g.abs(x), "mg.abs({0})",
             f"{_MISC}: Abs.backward_var, a piecewise -1, 0 (nan_to_num=True), 1"),
    "tan": C(lambda g, x: g.tan(x), "mg.tan({0})", "mygrad/math/trigonometric/ops.py: Tan.backward_var"),
    "atan": C(lambda g, x: g.arctan(x), "mg.arctan({0})",
              "mygrad/math/trigonometric/ops.py: Arctan.backward_var"),
    "log1p": C(lambda g, x: g.log1p(x), "mg.log1p({0})", "mygrad/math/exp_log/ops.py: Log1p.backward_var"),
    "softplus": Lacks("mygrad 2.x has no softplus (mygrad.nnet.activations has relu, sigmoid, leaky_relu, elu, "
                      "selu, soft_sign, hard_tanh, glu)"),
    "leaky_relu": C(lambda g, x, slope: g.nnet.activations.leaky_relu(x, slope), "leaky_relu({0}, {1})",
                    "mygrad/nnet/activations/leaky_relu.py: leaky_relu, built from mygrad.maximum and minimum"),
    "maximum": C(lambda g, x, y: g.maximum(x, y), "mg.maximum({0}, {1})",
                 f"{_MISC}: _MaxMin.backward_var (at a tie the mask is False for both inputs)"),
    "sinh": C(lambda g, x: g.sinh(x), "mg.sinh({0})", "mygrad/math/hyperbolic_trig/ops.py: Sinh.backward_var"),
    "cosh": C(lambda g, x: g.cosh(x), "mg.cosh({0})", "mygrad/math/hyperbolic_trig/ops.py: Cosh.backward_var"),
}
check_table(OPS, "mygrad")


def _tensor(x):
    return x if isinstance(x, mygrad.Tensor) else mygrad.tensor(x, dtype=numpy.float64)


MYGRAD = system_namespace("mygrad", mygrad, OPS)


class MygradBackend(Backend):
    """Tensor.backward on 0-d float64 tensors (reverse mode); no second order."""

    name = "mygrad"
    method = "mygrad: Tensor.backward on 0-d float64 tensors (reverse mode)"
    rtol = 1e-10
    ops = OPS
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
