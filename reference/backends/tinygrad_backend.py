"""tinygrad in float64 on its CPU device (kernels compiled by clang), first and second order by ``Tensor.gradient``.

Inputs are float64 data tensors (``Tensor([x], dtype=dtypes.float64).reshape(())``), as a reader's data
is, so the kernels run rather than being folded away as constants. The kernels are compiled for the
baseline x86-64 instruction set (no FMA), so the numbers are the same on any x86-64 CPU.
tinygrad differentiates its few primitive UOps (``tinygrad/mixin/gradient.py``: SIN, EXP2, LOG2, SQRT,
RECIPROCAL, MAX, WHERE, POW, MUL...); every other function is built from them in
``tinygrad/mixin/elementwise.py``, so its derivative is the chain rule through that construction.
"""
from __future__ import annotations

import platform

from tinygrad import Tensor, dtypes
from tinygrad.helpers import DEV

from .base import Backend
from .external import Counterpart as C, Lacks, check_table, system_namespace

if platform.machine().lower() in ("x86_64", "amd64"):
    DEV.value = "CPU:CLANG:x86_64,x86-64"  # baseline x86-64: no FMA contraction, the same bits on every CPU
DEVICE = str(DEV)

IMPORTS = "from tinygrad import Tensor, dtypes\nx = Tensor([{x}], dtype=dtypes.float64).reshape(())"
_GRAD = "tinygrad/mixin/gradient.py: pm_gradient"
_ELT = "tinygrad/mixin/elementwise.py"

# Temporary: the registry rows get these as their `tinygrad` counterparts when the rows' Systems group lands.
OPS: dict = {
    "add": C(lambda t, x, y: x + y, "{0} + {1}", f"{_GRAD} (ADD)"),
    "sub": C(lambda t, x, y: x - y, "{0} - {1}", f"{_GRAD} (ADD of a negation)"),
    "mul": C(lambda t, x, y: x * y, "{0} * {1}", f"{_GRAD} (MUL)"),
    "div": C(lambda t, x, y: x / y, "{0} / {1}", f"{_ELT}: div is x * y.reciprocal(); {_GRAD} (RECIPROCAL)"),
    "neg": C(lambda t, x: -x, "-{0}", f"{_GRAD} (MUL by -1)"),
    "powc": C(lambda t, x, c: x ** c, "{0} ** {1}",
              f"{_GRAD} (POW): e.eq(0).where(e, e * b.pow(e - 1)) in the base"),
    "pow": C(lambda t, x, y: x ** y, "{0} ** {1}",
             f"{_GRAD} (POW): in the exponent b.eq(0).where((e < 0).where(-inf, 0), ret * log2(b) * log(2))"),
    "exp": C(lambda t, x: x.exp(), "{0}.exp()", f"{_ELT}: exp is exp2(x / log 2); {_GRAD} (EXP2)"),
    "log": C(lambda t, x: x.log(), "{0}.log()", f"{_ELT}: log is log2(x) * log 2; {_GRAD} (LOG2)"),
    "tanh": C(lambda t, x: x.tanh(), "{0}.tanh()", f"{_ELT}: tanh is 2 * sigmoid(2x) - 1, differentiated through "
              "sigmoid's reciprocal and exp2"),
    "sigmoid": C(lambda t, x: x.sigmoid(), "{0}.sigmoid()",
                 f"{_ELT}: sigmoid is (1 + exp2(-x / log 2)).reciprocal(); {_GRAD} (RECIPROCAL, EXP2)"),
    "relu": C(lambda t, x: x.relu(), "{0}.relu()",
              f"{_ELT}: relu is (x > 0).where(x, 0); {_GRAD} (WHERE passes the gradient to the chosen branch)"),
    "sin": C(lambda t, x: x.sin(), "{0}.sin()", f"{_GRAD} (SIN: sin(pi/2 - x) as the slope)"),
    "cos": C(lambda t, x: x.cos(), "{0}.cos()", f"{_ELT}: cos is sin(pi/2 - x); {_GRAD} (SIN)"),
    "sqrt": C(lambda t, x: x.sqrt(), "{0}.sqrt()", f"{_GRAD} (SQRT: ctx / (2 * ret))"),
    "abs": C(lambda t, x: x.abs(), "{0}.abs()", f"{_ELT}: abs is x * x.sign(), sign a pair of WHEREs"),
    "tan": C(lambda t, x: x.tan(), "{0}.tan()", f"{_ELT}: tan is sin(x) / cos(x)"),
    "atan": C(lambda t, x: x.atan(), "{0}.atan()",
              f"{_ELT}: atan is asin(x / sqrt(1 + x*x)), asin a degree-7 polynomial times a sqrt"),
    "log1p": Lacks("tinygrad has no log1p (Tensor has log, log2, exp, exp2, logaddexp)"),
    "softplus": C(lambda t, x: x.softplus(), "{0}.softplus()",
                  f"{_ELT}: softplus is logaddexp(x, 0), i.e. log(exp(a - m) + exp(b - m)) + m with m = max(a, b)"),
    "leaky_relu": C(lambda t, x, slope: x.leaky_relu(slope), "{0}.leaky_relu({1})",
                    f"{_ELT}: leaky_relu is (x < 0).where(slope * x, x), so the slope at 0 is 1"),
    "maximum": C(lambda t, x, y: x.maximum(y), "{0}.maximum({1})",
                 f"{_GRAD} (MAX): x > y gives ctx, a tie gives ctx * 0.5 to each input"),
    "sinh": C(lambda t, x: x.sinh(), "{0}.sinh()", f"{_ELT}: sinh is (exp(x) - exp(-x)) / 2"),
    "cosh": C(lambda t, x: x.cosh(), "{0}.cosh()", f"{_ELT}: cosh is (exp(x) + exp(-x)) / 2"),
}
check_table(OPS, "tinygrad")


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(float(x), dtype=dtypes.float64)


TINYGRAD = system_namespace("tinygrad", Tensor, OPS, wrap=_tensor)


def _inputs(point) -> list[Tensor]:
    return [Tensor([float(x)], dtype=dtypes.float64).reshape(()) for x in point]


class TinygradBackend(Backend):
    """Tensor.gradient (reverse mode) on float64 data tensors, CPU device; the Hessian is gradient of gradient."""

    name = "tinygrad"
    method = f"tinygrad: Tensor.gradient on float64 tensors, device {DEVICE or 'CPU'} (clang)"
    rtol = 1e-10
    ops = OPS
    imports = IMPORTS

    def _compute(self, case, point):
        xs = _inputs(point)
        out = case.fn(TINYGRAD, *xs)
        if not isinstance(out, Tensor):
            return float(out), [0.0] * len(xs), None
        grads = out.gradient(*xs)
        Tensor.realize(out, *grads)
        return float(out.item()), [float(g.item()) for g in grads], None

    def _hessian(self, case, point) -> list[list[float]]:
        """Tensor.gradient of each partial: H[i][j] = d/dx_j of df/dx_i."""
        xs = _inputs(point)
        n = len(xs)
        out = case.fn(TINYGRAD, *xs)
        if not isinstance(out, Tensor):
            return [[0.0] * n for _ in range(n)]
        rows = [g.gradient(*xs) for g in out.gradient(*xs)]
        Tensor.realize(*[h for row in rows for h in row])
        return [[float(h.item()) for h in row] for row in rows]
