"""The op registry: every primitive is one ``Rule`` row, and everything that knows about an op reads it.

A row states the op's forward and one local partial per input, written against a math
namespace ``m``, so the same text runs on floats (``FLOAT``, the engine's backward pass),
on Values (``create_graph=True``), on SymPy symbols (the study proves each partial against
``sympy.diff``) and as generated code (the engine's fast path and compiled mode). A partial
is a number (a constant slope) or a function ``(m, z, *inputs, *params)`` where ``z`` is the
op's own output (like torch's ``result`` or JAX's ``ans``); partials state only the local
derivative, the chain rule lives once, in ``engine.py``.

Besides the maths, a row carries the op's spelling (Value method, Python operator, names in
expression text), its constant parameters, its float semantics (``float``), its domain edges
with their convention keys, sampling ranges for probes, fuzzing and sweeps, its PyTorch and
SymPy counterparts (as functions of the module, so this package imports neither), a
better-conditioned formula where one exists, and the prose the study shows.

Helpers every namespace provides, besides one function per row: ``mul0(a, b)`` (a * b, but 0 where
``a`` is 0 and ``b`` is infinite or nan: the mask torch's pow partials use),
``heaviside(x, h0)`` (1 for x > 0, 0 for x < 0, h0 at 0), ``sign(x)`` and ``where(x, a, b)``
(a for x > 0, else b).
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

__all__ = ["FLOAT", "HELPERS", "OPERATOR_METHODS", "RULES", "Edge", "FloatMath", "Prose", "Rule", "Sampling",
           "Spelling", "Systems", "override"]

# Python's own spelling of each operator a row can name: (method, reflected method).
OPERATOR_METHODS = {"+": ("__add__", "__radd__"), "-": ("__sub__", "__rsub__"), "*": ("__mul__", "__rmul__"),
                    "/": ("__truediv__", "__rtruediv__"), "**": ("__pow__", "__rpow__"), "neg": ("__neg__", None)}


@dataclass(frozen=True)
class Edge:
    """A point where an op has no ordinary derivative: a kink, a pole, a domain boundary, a flat spot.

    ``test(*inputs, *params)`` says whether float inputs sit on it. At a kink, ``subgradients``
    gives per input the interval of valid slopes (a function of the params, or a tuple).
    """

    key: str
    where: str
    test: Callable[..., bool]
    kind: str  # "kink" | "pole" | "domain" | "flat"
    truth: str
    subgradients: Callable[..., tuple] | tuple | None = None

    def slopes(self, *params) -> tuple | None:
        """Per input, the (low, high) interval of valid subgradients here (None if not a kink)."""
        s = self.subgradients
        return s(*params) if callable(s) else s


@dataclass(frozen=True)
class Spelling:
    """How an op is written: in a graph picture, as a Value method or Python operator, in expression text."""

    symbol: str = ""
    method: str | None = None  # the Value method
    operator: str | None = None  # the Python operator: "+", "-", "*", "/", "**", "neg"
    names: tuple[str, ...] = ()  # names in expression text, aliases included


@dataclass(frozen=True)
class Sampling:
    """Where probes, the corpus, the fuzzer and the study's sweeps take their inputs."""

    probe: tuple[float, ...] = (0.5,)  # an ordinary point, away from every edge
    probe_params: tuple = ()
    points: tuple[tuple, ...] = ()  # the corpus's points for this op alone (inputs, then params), edges included
    sample: tuple[tuple[float, float], ...] = ((-3.0, 3.0),)  # per input, where probes and sweeps draw
    sweep: tuple = ("lin", -3.0, 3.0)  # the study's accuracy sweep: (spacing, low, high) of input 0
    guard: str = ""  # fuzz text that keeps the op inside its domain, over {0}, {1}


@dataclass(frozen=True)
class Systems:
    """The op's counterparts in other systems, as functions of the system's module (so this package imports none)."""

    sympy: Callable | None = None  # (sympy module, *inputs, *params) -> the op's mathematical definition
    torch: Callable | None = None  # (torch module, *inputs, *params) -> tensor
    torch_formula: tuple[str, ...] = ()  # derivatives.yaml, one line per input
    torch_partials: Callable | None = None  # (m, z, *inputs, *params) -> torch's formulas, for the study
    # The other AD systems of the atlas: the op's own function in each, (module, *inputs, *params) -> result,
    # with the module jax, autograd, mygrad or tinygrad's Tensor class; None where the system lacks it.
    jax: Callable | None = None
    autograd: Callable | None = None
    mygrad: Callable | None = None
    tinygrad: Callable | None = None
    spelled: dict = field(default_factory=dict)  # system -> how its users write the op: a format over inputs, params
    rule_source: dict = field(default_factory=dict)  # system -> where its derivative rule lives: "file: function"
    lacks: dict = field(default_factory=dict)  # system -> why it has no such op


@dataclass(frozen=True)
class Prose:
    """What the study says about the op: its convention, its accuracy, a better-conditioned partial."""

    note: str = ""  # the convention chosen at a kink or edge, if any
    why: str = ""  # what the study's accuracy sweep shows, and why
    better: tuple[str, Callable] | None = None  # a better-conditioned partial of input 0: (text, float function)
    second: dict = field(default_factory=dict)  # edge key -> (what the engine's second derivative is there)


@dataclass(frozen=True)
class Rule:
    """One primitive op: ``forward(m, *inputs, *params)`` and ``partials[i](m, z, *inputs, *params)``.

    The maths comes first (forward, partials, the IEEE float function; params and edges close the
    row); the rest of what the row knows sits in one group per concern.
    """

    name: str
    forward: Callable
    partials: tuple
    float: Callable  # the op on floats with IEEE results (what FLOAT.<name> is)
    spelling: Spelling = Spelling()
    sampling: Sampling = Sampling()
    systems: Systems = Systems()
    prose: Prose = Prose()
    params: tuple[str, ...] = ()  # constant (non-differentiable) parameters
    defaults: tuple = ()  # default values of the trailing params
    edges: tuple[Edge, ...] = ()
    analytic: bool = True  # the complex step is meaningful

    @property
    def arity(self) -> int:
        """Number of differentiable inputs."""
        return len(self.partials)

    def partial(self, i: int, m, z, *args):
        """The i-th local partial evaluated in namespace ``m``."""
        p = self.partials[i]
        return p if p.__class__ is float else p(m, z, *args)

    def edges_at(self, *args) -> tuple[Edge, ...]:
        """Every edge these float inputs (and params) sit on: the one test of "which edge is this node on"."""
        on = []
        for edge in self.edges:
            try:
                if edge.test(*args):
                    on.append(edge)
            except (TypeError, ValueError, ArithmeticError):  # a test that cannot read these inputs: not on it
                continue
        return tuple(on)

    def edge_at(self, *args) -> Edge | None:
        """The first edge these float inputs (and params) sit on, if any."""
        on = self.edges_at(*args)
        return on[0] if on else None


# -- float semantics: IEEE double results where Python's math would raise ----------------------
def _div(x: float, y: float) -> float:
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0:
            return math.nan
        # The sign of inf follows both signs, including that of a signed zero.
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _pow(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        negative = x < 0 and float(y).is_integer() and int(y) % 2 == 1
        return -math.inf if negative else math.inf
    except ValueError:
        if x == 0 and y < 0:  # pole: +inf, or -inf for -0.0 to an odd power
            odd = float(y).is_integer() and int(y) % 2 == 1
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan  # negative base with a non-integer exponent


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _log1p(x: float) -> float:
    if x > -1:
        return math.log1p(x)
    return -math.inf if x == -1 else math.nan


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


def _sigmoid(x: float) -> float:
    if x >= 0:  # two branches so that exp never overflows
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow, no cancellation.
    if x != x:
        return x
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


def _sinh(x: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(math.inf, x)


def _cosh(x: float) -> float:
    try:
        return math.cosh(x)
    except OverflowError:
        return math.inf


def _relu(x: float) -> float:
    return x if x > 0 else (x if x != x else 0.0)


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0 else slope * x


def _maximum(x: float, y: float) -> float:
    if x != x or y != y:
        return math.nan  # as torch.maximum: nan wins
    return x if x >= y else y


def _periodic(fn: Callable) -> Callable:
    return lambda x: fn(x) if math.isfinite(x) else math.nan


def _heaviside(x: float, h0: float) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else (h0 if x == 0 else x)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else (x if x != x else 0.0)


def _where(x: float, a, b):
    return a if x > 0 else (b if x <= 0 else math.nan)


def _mul0(x: float, y: float) -> float:
    return 0.0 if x == 0 and not math.isfinite(y) else x * y


HELPERS: dict[str, Callable] = {"mul0": _mul0, "heaviside": _heaviside, "sign": _sign, "where": _where}


def _sech2(x: float) -> float:
    e = math.exp(-2 * math.fabs(x))
    return 4 * e / (1 + e) ** 2


def _sigmoid_slope(x: float) -> float:
    e = math.exp(-math.fabs(x))
    return e / (1 + e) ** 2


def _fn(name: str) -> Callable:
    """The forward of a function-style op: ``m.<name>(*inputs, *params)``."""
    return lambda m, *args: getattr(m, name)(*args)


def _is_int(c: float) -> bool:
    return float(c).is_integer()


# fmt: off
_TABLE = (
    Rule("add", lambda m, x, y: x + y, (1.0, 1.0), operator.add,
         Spelling("+", operator="+", names=("add",)),
         Sampling(probe=(1.5, 0.5), points=((1, 2), (-3, 0.5), (1e300, 1e300)), sample=((-3, 3), (-3, 3)),
                  guard="({0} + {1})"),
         Systems(sympy=lambda s, x, y: x + y, torch=lambda t, x, y: x + y,
                 torch_formula=("self: handle_r_to_c(self.scalar_type(), grad)",
                                "other: handle_r_to_c(other.scalar_type(), maybe_multiply(grad, alpha.conj()))"),
                 jax=lambda j, x, y: x + y, autograd=lambda a, x, y: x + y, mygrad=lambda g, x, y: x + y,
                 tinygrad=lambda t, x, y: x + y,
                 rule_source={"jax": "jax/_src/lax/lax.py: add_p's JVP",
                              "autograd": "autograd/numpy/numpy_vjps.py: the VJPs of anp.add",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Add.backward_var",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (ADD)"})),
    Rule("sub", lambda m, x, y: x - y, (1.0, -1.0), operator.sub,
         Spelling("-", operator="-", names=("sub",)),
         Sampling(probe=(1.5, 0.5), points=((1, 2), (-3, 0.5), (1, 1 + 2 ** -52)), sample=((-3, 3), (-3, 3)),
                  guard="({0} - {1})"),
         Systems(sympy=lambda s, x, y: x - y, torch=lambda t, x, y: x - y,
                 torch_formula=("self: handle_r_to_c(self.scalar_type(), grad)",
                                "other: handle_r_to_c(other.scalar_type(), maybe_multiply(-grad, alpha.conj()))"),
                 jax=lambda j, x, y: x - y, autograd=lambda a, x, y: x - y, mygrad=lambda g, x, y: x - y,
                 tinygrad=lambda t, x, y: x - y,
                 rule_source={"jax": "jax/_src/lax/lax.py: sub_p's JVP",
                              "autograd": "autograd/numpy/numpy_vjps.py: the VJPs of anp.subtract",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Subtract.backward_var",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (ADD of a negation)"})),
    Rule("mul", lambda m, x, y: x * y, (lambda m, z, x, y: y, lambda m, z, x, y: x), operator.mul,
         Spelling("*", operator="*", names=("mul",)),
         Sampling(probe=(1.5, -0.7), points=((1.5, -2), (0, 3), (1e200, 1e200)), sample=((-3, 3), (-3, 3)),
                  guard="({0} * {1})"),
         Systems(sympy=lambda s, x, y: x * y, torch=lambda t, x, y: x * y,
                 torch_formula=("self: mul_tensor_backward(grad, other, self.scalar_type())  # grad * other",
                                "other: mul_tensor_backward(grad, self, other.scalar_type())  # grad * self"),
                 jax=lambda j, x, y: x * y, autograd=lambda a, x, y: x * y, mygrad=lambda g, x, y: x * y,
                 tinygrad=lambda t, x, y: x * y,
                 rule_source={"jax": "jax/_src/lax/lax.py: mul_p's JVP",
                              "autograd": "autograd/numpy/numpy_vjps.py: the VJPs of anp.multiply",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Multiply.backward_var",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (MUL)"})),
    Rule("div", lambda m, x, y: m.div(x, y), (lambda m, z, x, y: m.div(1.0, y), lambda m, z, x, y: m.div(-z, y)), _div,
         Spelling("/", operator="/", names=("div",)),
         Sampling(probe=(1.5, 0.625), points=((1, 4), (3, -0.5), (1e-5, 1e5), (2, 1e200), (1, 0), (0, 0)),
                  sample=((-3, 3), (0.5, 3)), sweep=("log", -150, 160), guard="({0} / ({1}*{1} + 0.5))"),
         Systems(sympy=lambda s, x, y: x / y, torch=lambda t, x, y: x / y,
                 torch_formula=("self: div_tensor_self_backward(grad, other, self.scalar_type())  # grad / other",
                                "other: div_tensor_other_backward(grad, self, other)  # -grad * ((self / other) / "
                                "other)"),
                 torch_partials=lambda m, z, x, y: (m.div(1.0, y), m.div(-z, y)),
                 jax=lambda j, x, y: x / y, autograd=lambda a, x, y: x / y, mygrad=lambda g, x, y: x / y,
                 tinygrad=lambda t, x, y: x / y,
                 rule_source={"jax": "jax/_src/lax/lax.py: div_p's JVP (g / y and -g * x / y**2)",
                              "autograd": "autograd/numpy/numpy_vjps.py: the VJPs of anp.true_divide (g / y, -g * x "
                                          "/ y**2)",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Divide.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: div is x * y.reciprocal(); "
                                          "tinygrad/mixin/gradient.py: pm_gradient (RECIPROCAL)"}),
         Prose(note="d/dy uses -z/y (torch: (x/y)/y) rather than -x/y**2, whose y**2 overflows for |y| > 1e154",
               why="The engine's -z/y and torch's (x/y)/y never form y*y. SymPy's derivative is -x/y**2: code that "
                   "squares y first overflows past |y| = 1.3e154 and gives -0 (a relative error of 1) while the true "
                   "value is still a normal or subnormal number; the float code here computes y**-2 in one pow and "
                   "keeps it."),
         edges=(Edge("div@y=0", "y = 0", lambda x, y: y == 0, "pole", "a pole: 1/0 has no finite value or slope"),)),
    Rule("neg", lambda m, x: -x, (-1.0,), operator.neg,
         Spelling("neg", operator="neg", names=("neg",)),
         Sampling(probe=(1.5,), points=((-2,), (0,), (3.5,)), guard="(-{0})"),
         Systems(sympy=lambda s, x: -x, torch=lambda t, x: -x, torch_formula=("self: grad.neg()",),
                 jax=lambda j, x: -x, autograd=lambda a, x: -x, mygrad=lambda g, x: -x, tinygrad=lambda t, x: -x,
                 rule_source={"jax": "jax/_src/lax/lax.py: neg_p's JVP",
                              "autograd": "autograd/numpy/numpy_vjps.py: the VJP of anp.negative",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Negative.backward_var",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (MUL by -1)"})),
    Rule("powc", lambda m, x, c: m.pow(x, c), (lambda m, z, x, c: m.mul0(c, m.pow(x, c - 1)),), _pow,
         Spelling("**c", operator="**"),
         Sampling(probe=(1.5,), probe_params=(2.5,),
                  points=((-2, 2), (0, 2), (0.5, 2), (1e200, 2), (-2, 3), (0, 3), (0.5, 3), (4, 0.5), (0.25, 0.5),
                          (0, 0.5), (-1, 0.5), (2, -1), (-0.5, -1), (0, -1), (2, 0), (0, 0), (1.5, 2.5), (0, 2.5),
                          (-1, 2.5)),
                  sample=((0.25, 3),), sweep=("log", -8, 8), guard="({0} ** 2)"),
         Systems(sympy=lambda s, x, c: x ** c, torch=lambda t, x, c: x ** c,
                 torch_formula=("self: pow_backward(grad, self, exponent)  # grad * exponent * self**(exponent - 1); "
                                "0 where exponent == 0",),
                 torch_partials=lambda m, z, x, c: (c * m.pow(x, c - 1),),
                 jax=lambda j, x, c: x ** c, autograd=lambda a, x, c: x ** c, mygrad=lambda g, x, c: x ** c,
                 tinygrad=lambda t, x, c: x ** c,
                 rule_source={"jax": "jax/_src/numpy/ufuncs.py: power sends a float exponent to lax.pow (an int one "
                                     "to lax.integer_pow, whose JVP is 0 for y = 0); jax/_src/lax/lax.py: "
                                     "_pow_jvp_lhs is y * x**(y - 1) with no mask for a float y",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.power's VJP in x, g * y * x ** "
                                          "where(y, y - 1, 1.0) (so 0 for y = 0)",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Power.backward_var, grad * y * x ** "
                                        "where(y, y - 1, 1) (so 0 for y = 0)",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (POW): e.eq(0).where(e, e * "
                                          "b.pow(e - 1)) in the base"}),
         Prose(note="d/dx x**0 = 0 also at x = 0, as torch",
               second={"powc@x**0": "d2/dx2 x**0 = 0: mul0 keeps the constant factor 0"}),
         params=("c",), edges=(Edge("powc@pole", "x = 0 with c < 0", lambda x, c: x == 0 and c < 0, "pole",
                                    "a pole: the value and the slope are infinite"),
                               Edge("powc@0", "x = 0 with 0 < c < 1", lambda x, c: x == 0 and 0 < c < 1, "domain",
                                    "the slope is +inf, as for sqrt"),
                               Edge("powc@x**0", "x = 0 with c = 0", lambda x, c: x == 0 and c == 0, "flat",
                                    "x**0 = 1 everywhere, so the slope is 0"),
                               Edge("powc@neg", "x < 0 with a non-integer c",
                                    lambda x, c: x < 0 and not _is_int(c), "domain",
                                    "no real power: the value itself is nan"))),
    Rule("pow", lambda m, x, y: m.pow(x, y),
         (lambda m, z, x, y: m.mul0(y, m.pow(x, y - 1)),
          lambda m, z, x, y: m.where(m.abs(x), z * m.log(x), m.mul0(z, m.log(x)))), _pow,
         Spelling("**", operator="**", names=("pow",)),
         Sampling(probe=(1.5, 0.7),
                  points=((2, 3), (0.5, -1.5), (3, 0.5), (0, 2), (-2, 3), (-2, 0.5), (2, 0), (-2, -2000)),
                  sample=((0.25, 3), (-2, 2)), sweep=("log", -8, 8), guard="(({0}*{0} + 0.5) ** sin({1}))"),
         Systems(sympy=lambda s, x, y: x ** y, torch=lambda t, x, y: x ** y,
                 torch_formula=("self: pow_backward_self(grad, self, exponent)  # grad * exponent * self**(exponent "
                                "- 1); 0 where exponent == 0",
                                "exponent: pow_backward_exponent(grad, self, exponent, result)  # grad * result * "
                                "log(self); 0 where self == 0 and exponent >= 0"),
                 torch_partials=lambda m, z, x, y: (y * m.pow(x, y - 1), z * m.log(x)),
                 jax=lambda j, x, y: x ** y, autograd=lambda a, x, y: x ** y, mygrad=lambda g, x, y: x ** y,
                 tinygrad=lambda t, x, y: x ** y,
                 rule_source={"jax": "jax/_src/lax/lax.py: _pow_jvp_lhs (y * x**(y - 1)) and _pow_jvp_rhs "
                                     "(log(_replace_zero(x)) * ans)",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.power's VJPs, g * y * x ** where(y, y "
                                          "- 1, 1.0) and g * log(replace_zero(x, 1.0)) * ans",
                              "mygrad": "mygrad/math/arithmetic/ops.py: Power.backward_var, grad * y * x ** "
                                        "where(y, y - 1, 1) and grad * x**y * log(where(x, x, 1))",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (POW): in the exponent "
                                          "b.eq(0).where((e < 0).where(-inf, 0), ret * log2(b) * log(2))"}),
         Prose(note="d/dy at x = 0 is 0 for y > 0 (0**y is flat in y), as torch; elsewhere z * log(x), so nan for x "
                    "< 0"),
         edges=(Edge("pow@x=0", "x = 0", lambda x, y: x == 0, "flat",
                     "0**y = 0 for every y > 0, so the partial in y is exactly 0; for y > 1 the partial in x is 0 too"),
                Edge("pow@neg", "x < 0 (partial in y)", lambda x, y: x < 0, "domain",
                     "x**y * log(x): no real logarithm of x < 0"))),
    Rule("exp", _fn("exp"), (lambda m, z, x: z,), _exp,
         Spelling("exp", method="exp", names=("exp",)),
         Sampling(points=((-1,), (0,), (2,), (700,), (709.7,), (-745,), (710,)), sample=((-3, 3),),
                  sweep=("lin", -745, 709.7), guard="exp(tanh({0}))"),
         Systems(sympy=lambda s, x: s.exp(x), torch=lambda t, x: t.exp(x),
                 torch_formula=("self: grad * result.conj()",),
                 jax=lambda j, x: j.numpy.exp(x), autograd=lambda a, x: a.numpy.exp(x), mygrad=lambda g, x: g.exp(x),
                 tinygrad=lambda t, x: x.exp(),
                 spelled={"jax": "jnp.exp({0})",
                          "autograd": "np.exp({0})",
                          "mygrad": "mg.exp({0})",
                          "tinygrad": "{0}.exp()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: exp_p's JVP (g * ans)",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.exp's VJP (ans * g)",
                              "mygrad": "mygrad/math/exp_log/ops.py: Exp.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: exp is exp2(x / log 2); "
                                          "tinygrad/mixin/gradient.py: pm_gradient (EXP2)"}),
         Prose(why="exp'(x) = exp(x) is as accurate as exp itself; near 709.78 the central difference overflows "
                   "first.")),
    Rule("log", _fn("log"), (lambda m, z, x: m.div(1.0, x),), _log,
         Spelling("log", method="log", names=("log", "ln")),
         Sampling(probe=(1.5,), points=((0.5,), (1,), (10,), (1e-300,), (1e300,), (0,), (-1,)), sample=((0.25, 4),),
                  sweep=("log", -300, 300), guard="log({0}*{0} + 0.5)"),
         Systems(sympy=lambda s, x: s.log(x), torch=lambda t, x: t.log(x),
                 torch_formula=("self: grad.div(self.conj())",),
                 jax=lambda j, x: j.numpy.log(x), autograd=lambda a, x: a.numpy.log(x), mygrad=lambda g, x: g.log(x),
                 tinygrad=lambda t, x: x.log(),
                 spelled={"jax": "jnp.log({0})",
                          "autograd": "np.log({0})",
                          "mygrad": "mg.log({0})",
                          "tinygrad": "{0}.log()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: log_p's JVP (g / x)",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.log's VJP (g / x)",
                              "mygrad": "mygrad/math/exp_log/ops.py: Log.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: log is log2(x) * log 2; "
                                          "tinygrad/mixin/gradient.py: pm_gradient (LOG2)"}),
         Prose(why="1/x is exact to rounding everywhere; the finite differences fail near 0, where their step leaves "
                   "the domain."),
         edges=(Edge("log@0", "x = 0", lambda x: x == 0, "pole", "log(0) = -inf; the slope 1/x is infinite"),
                Edge("log@neg", "x < 0", lambda x: x < 0, "domain",
                                "no real logarithm; SymPy's 1/x is still finite there"))),
    Rule("tanh", _fn("tanh"), (lambda m, z, x: 1.0 - z * z,), math.tanh,
         Spelling("tanh", method="tanh", names=("tanh",)),
         Sampling(points=((-2,), (0,), (0.5,), (3,), (20,), (-20,), (40,)), sweep=("lin", -30, 30), guard="tanh({0})"),
         Systems(sympy=lambda s, x: s.tanh(x), torch=lambda t, x: t.tanh(x),
                 torch_formula=("self: tanh_backward(grad, result)  # grad * (1 - result * result)",),
                 jax=lambda j, x: j.numpy.tanh(x), autograd=lambda a, x: a.numpy.tanh(x),
                 mygrad=lambda g, x: g.tanh(x), tinygrad=lambda t, x: x.tanh(),
                 spelled={"jax": "jnp.tanh({0})",
                          "autograd": "np.tanh({0})",
                          "mygrad": "mg.tanh({0})",
                          "tinygrad": "{0}.tanh()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: tanh_p's JVP, (g + g * ans) * (1 - ans) at default "
                                     "accuracy",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.tanh's VJP, g / cosh(x)**2",
                              "mygrad": "mygrad/math/hyperbolic_trig/ops.py: Tanh.backward_var, grad * (1 - "
                                        "tanh(a)**2)",
                              "tinygrad": "tinygrad/mixin/elementwise.py: tanh is 2 * sigmoid(2x) - 1, "
                                          "differentiated through sigmoid's reciprocal and exp2"}),
         Prose(note="1 - z**2 as torch and JAX; it cancels to 0 for |x| > 19",
               why="The engine, torch and SymPy all compute 1 - tanh(x)**2: once tanh(x) rounds to 1 (|x| > 19.1) "
                   "the difference is exactly 0 and the relative error is total, although sech(x)**2 is still a "
                   "normal number until |x| of about 355. The dashed curve, 4e/(1+e)**2 with e = exp(-2|x|), has no "
                   "subtraction and keeps full accuracy.",
               better=("4e/(1+e)**2 with e = exp(-2|x|), i.e. sech(x)**2", _sech2))),
    Rule("sigmoid", _fn("sigmoid"), (lambda m, z, x: z * (1.0 - z),), _sigmoid,
         Spelling("sigmoid", method="sigmoid", names=("sigmoid",)),
         Sampling(points=((-3,), (0,), (2,), (40,), (-40,), (800,), (-800,)), sweep=("lin", -60, 60),
                  guard="sigmoid({0})"),
         Systems(sympy=lambda s, x: 1 / (1 + s.exp(-x)), torch=lambda t, x: t.sigmoid(x),
                 torch_formula=("self: sigmoid_backward(grad, result)  # grad * (1 - result) * result",),
                 torch_partials=lambda m, z, x: ((1.0 - z) * z,),
                 jax=lambda j, x: j.nn.sigmoid(x), autograd=lambda a, x: a.scipy.special.expit(x),
                 mygrad=lambda g, x: g.nnet.activations.sigmoid(x), tinygrad=lambda t, x: x.sigmoid(),
                 spelled={"jax": "jax.nn.sigmoid({0})",
                          "autograd": "autograd.scipy.special.expit({0})",
                          "mygrad": "sigmoid({0})",
                          "tinygrad": "{0}.sigmoid()"},
                 rule_source={"jax": "jax/_src/nn/functions.py: sigmoid is lax.logistic; jax/_src/lax/lax.py: "
                                     "logistic_p's JVP, ans * (1 - ans)",
                              "autograd": "autograd/scipy/special.py: expit's VJP, g * ans * (1 - ans)",
                              "mygrad": "mygrad/nnet/activations/sigmoid.py: Sigmoid.backward_var, grad * s * (1 - "
                                        "s)",
                              "tinygrad": "tinygrad/mixin/elementwise.py: sigmoid is (1 + exp2(-x / log "
                                          "2)).reciprocal(); tinygrad/mixin/gradient.py: pm_gradient (RECIPROCAL, "
                                          "EXP2)"}),
         Prose(note="z * (1 - z) as torch; it cancels to 0 for x > 37",
               why="z * (1 - z) is accurate for x < 0 (z is tiny and exact) but 1 - z cancels for x > 0: past x of "
                   "about 37 it is exactly 0. SymPy's exp(-x)/(1 + exp(-x))**2 overflows to inf/inf = nan for x < "
                   "-709. e/(1+e)**2 with e = exp(-|x|) is accurate on both sides.",
               better=("e/(1+e)**2 with e = exp(-|x|)", _sigmoid_slope))),
    Rule("relu", _fn("relu"), (lambda m, z, x: m.heaviside(x, 0.0),), _relu,
         Spelling("relu", method="relu", names=("relu",)),
         Sampling(points=((-1,), (2,), (0,)), guard="relu({0})"),
         Systems(sympy=lambda s, x: s.Max(0, x), torch=lambda t, x: t.relu(x),
                 torch_formula=("self: threshold_backward(grad, result, 0)  # grad where result > 0, else 0",),
                 jax=lambda j, x: j.nn.relu(x), mygrad=lambda g, x: g.nnet.activations.relu(x),
                 tinygrad=lambda t, x: x.relu(),
                 spelled={"jax": "jax.nn.relu({0})",
                          "mygrad": "relu({0})",
                          "tinygrad": "{0}.relu()"},
                 rule_source={"jax": "jax/_src/nn/functions.py: relu is a custom_jvp whose rule is select(x > 0, g, "
                                     "0)",
                              "mygrad": "mygrad/nnet/activations/relu.py: Relu.backward_var (the mask x > 0)",
                              "tinygrad": "tinygrad/mixin/elementwise.py: relu is (x > 0).where(x, 0); "
                                          "tinygrad/mixin/gradient.py: pm_gradient (WHERE passes the gradient to "
                                          "the chosen branch)"},
                 lacks={"autograd": "HIPS autograd has no relu (only autograd.numpy's ufuncs and "
                                    "autograd.scipy.special); its users write np.maximum(x, 0.)"}),
         Prose(note="relu'(0) = 0, as torch",
               why="The one large error is x = 0 exactly: the engine's relu'(0) = 0 against the oracle's "
                   "Heaviside(0) = 1/2, a convention, not a loss of accuracy.",
               second={"relu@0": "relu'' = 0 everywhere, 0 at the kink too (the partial is piecewise constant)"}),
         edges=(Edge("relu@0", "x = 0", lambda x: x == 0, "kink", "no derivative: the one-sided slopes are 0 and 1",
                     ((0.0, 1.0),)),), analytic=False),
    Rule("sin", _fn("sin"), (lambda m, z, x: m.cos(x),), _periodic(math.sin),
         Spelling("sin", method="sin", names=("sin",)),
         Sampling(points=((0,), (1,), (-2.5,), (1e6,)), sweep=("log", -2, 6), guard="sin({0})"),
         Systems(sympy=lambda s, x: s.sin(x), torch=lambda t, x: t.sin(x),
                 torch_formula=("self: grad * self.cos().conj()",),
                 jax=lambda j, x: j.numpy.sin(x), autograd=lambda a, x: a.numpy.sin(x), mygrad=lambda g, x: g.sin(x),
                 tinygrad=lambda t, x: x.sin(),
                 spelled={"jax": "jnp.sin({0})",
                          "autograd": "np.sin({0})",
                          "mygrad": "mg.sin({0})",
                          "tinygrad": "{0}.sin()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: sin_p's JVP (g * cos(x))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.sin's VJP (g * cos(x))",
                              "mygrad": "mygrad/math/trigonometric/ops.py: Sin.backward_var",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (SIN: sin(pi/2 - x) as the slope)"}),
         Prose(why="cos(x) is accurate for any x; the finite differences' steps grow with |x| and lose it for large "
                   "x.")),
    Rule("cos", _fn("cos"), (lambda m, z, x: -m.sin(x),), _periodic(math.cos),
         Spelling("cos", method="cos", names=("cos",)),
         Sampling(points=((0,), (1,), (-2.5,), (1e6,)), sweep=("log", -2, 6), guard="cos({0})"),
         Systems(sympy=lambda s, x: s.cos(x), torch=lambda t, x: t.cos(x),
                 torch_formula=("self: grad * -self.sin().conj()",),
                 jax=lambda j, x: j.numpy.cos(x), autograd=lambda a, x: a.numpy.cos(x), mygrad=lambda g, x: g.cos(x),
                 tinygrad=lambda t, x: x.cos(),
                 spelled={"jax": "jnp.cos({0})",
                          "autograd": "np.cos({0})",
                          "mygrad": "mg.cos({0})",
                          "tinygrad": "{0}.cos()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: cos_p's JVP (-g * sin(x))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.cos's VJP (-g * sin(x))",
                              "mygrad": "mygrad/math/trigonometric/ops.py: Cos.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: cos is sin(pi/2 - x); "
                                          "tinygrad/mixin/gradient.py: pm_gradient (SIN)"}),
         Prose(why="-sin(x) is accurate for any x; the finite differences' steps grow with |x| and lose it for large "
                   "x.")),
    Rule("sqrt", _fn("sqrt"), (lambda m, z, x: m.div(0.5, z),), _sqrt,
         Spelling("sqrt", method="sqrt", names=("sqrt",)),
         Sampling(probe=(1.5,), points=((4,), (0.25,), (1e-300,), (0,), (-1,)), sample=((0.25, 4),),
                  sweep=("log", -300, 300), guard="sqrt({0}*{0} + 0.1)"),
         Systems(sympy=lambda s, x: s.sqrt(x), torch=lambda t, x: t.sqrt(x),
                 torch_formula=("self: grad / (2 * result.conj())",),
                 torch_partials=lambda m, z, x: (m.div(1.0, 2.0 * z),),
                 jax=lambda j, x: j.numpy.sqrt(x), autograd=lambda a, x: a.numpy.sqrt(x),
                 mygrad=lambda g, x: g.sqrt(x), tinygrad=lambda t, x: x.sqrt(),
                 spelled={"jax": "jnp.sqrt({0})",
                          "autograd": "np.sqrt({0})",
                          "mygrad": "mg.sqrt({0})",
                          "tinygrad": "{0}.sqrt()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: sqrt_p's JVP (g * 0.5 / ans)",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.sqrt's VJP, g * 0.5 * x**-0.5 (on a "
                                          "Python float 0.0 that power raises)",
                              "mygrad": "mygrad/math/misc/ops.py: Sqrt.backward_var, grad / (2 * sqrt(a))",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (SQRT: ctx / (2 * ret))"}),
         Prose(why="0.5/z is accurate everywhere; steps that reach x < 0 make the differences nan near 0."),
         edges=(Edge("sqrt@0", "x = 0", lambda x: x == 0, "domain",
                     "the slope is +inf (a vertical tangent); left of 0 there is no real sqrt"),
                Edge("sqrt@neg", "x < 0", lambda x: x < 0, "domain", "no real square root"))),
    Rule("abs", _fn("abs"), (lambda m, z, x: m.sign(x),), math.fabs,
         Spelling("abs", method="abs", names=("abs",)),
         Sampling(points=((-2,), (3,), (0,)), guard="abs({0})"),
         Systems(sympy=lambda s, x: s.Abs(x), torch=lambda t, x: t.abs(x), torch_formula=("self: grad * self.sgn()",),
                 jax=lambda j, x: j.numpy.abs(x), autograd=lambda a, x: a.numpy.abs(x), mygrad=lambda g, x: g.abs(x),
                 tinygrad=lambda t, x: x.abs(),
                 spelled={"jax": "jnp.abs({0})",
                          "autograd": "np.abs({0})",
                          "mygrad": "mg.abs({0})",
                          "tinygrad": "{0}.abs()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: _abs_jvp_rule, select(x >= 0, g, -g) for real x (so the "
                                     "slope at 0 is 1)",
                              "autograd": "autograd/numpy/numpy_vjps.py: np_abs_vjp, g * replace_zero(x, 0) / "
                                          "replace_zero(ans, 1) (so 0 at 0)",
                              "mygrad": "mygrad/math/misc/ops.py: Abs.backward_var, a piecewise -1, 0 "
                                        "(nan_to_num=True), 1",
                              "tinygrad": "tinygrad/mixin/elementwise.py: abs is x * x.sign(), sign a pair of WHEREs"}),
         Prose(note="abs'(0) = sign(0) = 0, as torch", second={"abs@0": "abs'' = 0 everywhere, 0 at the kink too"}),
         edges=(Edge("abs@0", "x = 0", lambda x: x == 0, "kink", "no derivative: the one-sided slopes are -1 and 1",
                     ((-1.0, 1.0),)),), analytic=False),
    Rule("tan", _fn("tan"), (lambda m, z, x: 1.0 + z * z,), _periodic(math.tan),
         Spelling("tan", method="tan", names=("tan",)),
         Sampling(points=((0,), (0.5,), (-1.2,), (1.5,)), sample=((-1.2, 1.2),), sweep=("lin", -1.5, 1.5),
                  guard="tan(sin({0}))"),
         Systems(sympy=lambda s, x: s.tan(x), torch=lambda t, x: t.tan(x),
                 torch_formula=("self: grad * (1 + result.pow(2)).conj()",),
                 torch_partials=lambda m, z, x: (1.0 + z * z,),
                 jax=lambda j, x: j.numpy.tan(x), autograd=lambda a, x: a.numpy.tan(x), mygrad=lambda g, x: g.tan(x),
                 tinygrad=lambda t, x: x.tan(),
                 spelled={"jax": "jnp.tan({0})",
                          "autograd": "np.tan({0})",
                          "mygrad": "mg.tan({0})",
                          "tinygrad": "{0}.tan()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: tan_p's JVP (g * (1 + ans**2))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.tan's VJP, g / cos(x)**2",
                              "mygrad": "mygrad/math/trigonometric/ops.py: Tan.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: tan is sin(x) / cos(x)"}),
         Prose(why="1 + tan(x)**2 uses the output and has no cancellation; near the poles at odd multiples of pi/2 "
                   "it grows as fast as the true slope, and every backend follows it.")),
    Rule("atan", _fn("atan"), (lambda m, z, x: m.div(1.0, 1.0 + x * x),), math.atan,
         Spelling("atan", method="atan", names=("atan", "arctan")),
         Sampling(points=((0,), (0.5,), (-3,), (1e10,), (1e200,)), sample=((-4, 4),), sweep=("log", -300, 300),
                  guard="atan({0})"),
         Systems(sympy=lambda s, x: s.atan(x), torch=lambda t, x: t.atan(x),
                 torch_formula=("self: grad / (self * self + 1).conj()",),
                 jax=lambda j, x: j.numpy.arctan(x), autograd=lambda a, x: a.numpy.arctan(x),
                 mygrad=lambda g, x: g.arctan(x), tinygrad=lambda t, x: x.atan(),
                 spelled={"jax": "jnp.arctan({0})",
                          "autograd": "np.arctan({0})",
                          "mygrad": "mg.arctan({0})",
                          "tinygrad": "{0}.atan()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: atan_p's JVP (g / (1 + x**2))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.arctan's VJP, g / (1 + x**2)",
                              "mygrad": "mygrad/math/trigonometric/ops.py: Arctan.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: atan is asin(x / sqrt(1 + x*x)), asin a "
                                          "degree-7 polynomial times a sqrt"}),
         Prose(why="1/(1 + x*x) is accurate until x*x overflows past |x| = 1.3e154; there the slope is 0 in the "
                   "engine and torch, while the true slope 1/x**2 is still a subnormal number until |x| of about "
                   "1e162.")),
    Rule("log1p", _fn("log1p"), (lambda m, z, x: m.div(1.0, 1.0 + x),), _log1p,
         Spelling("log1p", method="log1p", names=("log1p",)),
         Sampling(probe=(0.5,), points=((0.5,), (1e-20,), (-0.5,), (1e300,), (-1,), (-2,)), sample=((-0.75, 3),),
                  sweep=("log", -300, 300), guard="log1p({0}*{0})"),
         Systems(sympy=lambda s, x: s.log(1 + x), torch=lambda t, x: t.log1p(x),
                 torch_formula=("self: log1p_backward(grad, self)  # grad / (self + 1)",),
                 jax=lambda j, x: j.numpy.log1p(x), autograd=lambda a, x: a.numpy.log1p(x),
                 mygrad=lambda g, x: g.log1p(x),
                 spelled={"jax": "jnp.log1p({0})",
                          "autograd": "np.log1p({0})",
                          "mygrad": "mg.log1p({0})"},
                 rule_source={"jax": "jax/_src/lax/lax.py: log1p_p's JVP (g / (x + 1))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.log1p's VJP, g / (x + 1)",
                              "mygrad": "mygrad/math/exp_log/ops.py: Log1p.backward_var"},
                 lacks={"tinygrad": "tinygrad has no log1p (Tensor has log, log2, exp, exp2, logaddexp)"}),
         Prose(why="log1p keeps full accuracy for tiny x where log(1 + x) loses it; its slope 1/(1 + x) rounds 1 + "
                   "x, which costs nothing: the relative error of 1 + x is at most one ulp."),
         edges=(Edge("log1p@-1", "x = -1", lambda x: x == -1, "pole",
                                 "log1p(-1) = -inf; the slope 1/(1+x) is infinite"),
                Edge("log1p@neg", "x < -1", lambda x: x < -1, "domain", "no real logarithm of 1 + x <= 0"))),
    Rule("softplus", _fn("softplus"), (lambda m, z, x: m.sigmoid(x),), _softplus,
         Spelling("softplus", method="softplus", names=("softplus",)),
         Sampling(points=((-3,), (0,), (2.5,), (19.5,), (20.5,), (25,), (-800,), (800,)), sample=((-4, 4),),
                  sweep=("lin", -60, 60), guard="softplus({0})"),
         Systems(sympy=lambda s, x: s.log(1 + s.exp(x)), torch=lambda t, x: t.nn.functional.softplus(x),
                 torch_formula=("self: softplus_backward(grad, self, beta, threshold)  # grad * sigmoid(x); grad "
                                "itself where x > threshold = 20",),
                 torch_partials=lambda m, z, x: (m.where(x - 20.0, 1.0, m.sigmoid(x)),),
                 jax=lambda j, x: j.nn.softplus(x), tinygrad=lambda t, x: x.softplus(),
                 spelled={"jax": "jax.nn.softplus({0})",
                          "tinygrad": "{0}.softplus()"},
                 rule_source={"jax": "jax/_src/nn/functions.py: softplus is jnp.logaddexp(x, 0); "
                                     "jax/_src/lax/other.py: _logaddexp_jvp, t * exp(x - out)",
                              "tinygrad": "tinygrad/mixin/elementwise.py: softplus is logaddexp(x, 0), i.e. "
                                          "log(exp(a - m) + exp(b - m)) + m with m = max(a, b)"},
                 lacks={"autograd": "HIPS autograd has no softplus (only autograd.numpy's ufuncs and "
                                    "autograd.scipy.special); its users write np.logaddexp(x, 0.)",
                        "mygrad": "mygrad 2.x has no softplus (mygrad.nnet.activations has relu, sigmoid, "
                                  "leaky_relu, elu, selu, soft_sign, hard_tanh, glu)"}),
         Prose(note="computed as max(x, 0) + log1p(exp(-|x|)), slope sigmoid(x): no overflow, no cancellation; torch "
                    "switches to x itself above its threshold 20, so its slope there is exactly 1 (off by up to 2e-9)",
               why="The engine's slope is sigmoid(x), accurate everywhere. torch's softplus returns x unchanged and "
                   "a slope of exactly 1 for x > 20 (its threshold): the true slope 1 - e**-x differs from 1 by 2e-9 "
                   "at x = 20, more than float64 AD should allow. SymPy's log(1 + exp(x)) overflows to inf for x > "
                   "709.")),
    Rule("leaky_relu", _fn("leaky_relu"), (lambda m, z, x, slope: m.where(x, 1.0, slope),), _leaky_relu,
         Spelling("leaky_relu", method="leaky_relu", names=("leaky_relu",)),
         Sampling(probe_params=(0.01,), points=((-1, 0.01), (2, 0.01), (0, 0.01), (-1, 0.2), (0, 0.2)),
                  guard="leaky_relu({0})"),
         Systems(sympy=lambda s, x, slope: s.Max(0, x) + slope * s.Min(0, x),
                 torch=lambda t, x, slope: t.nn.functional.leaky_relu(x, slope),
                 torch_formula=("self: leaky_relu_backward(grad, self, negative_slope, false)  # grad where self > "
                                "0, else grad * negative_slope",),
                 jax=lambda j, x, slope: j.nn.leaky_relu(x, slope),
                 mygrad=lambda g, x, slope: g.nnet.activations.leaky_relu(x, slope),
                 tinygrad=lambda t, x, slope: x.leaky_relu(slope),
                 spelled={"jax": "jax.nn.leaky_relu({0}, {1})",
                          "mygrad": "leaky_relu({0}, {1})",
                          "tinygrad": "{0}.leaky_relu({1})"},
                 rule_source={"jax": "jax/_src/nn/functions.py: leaky_relu is jnp.where(x >= 0, x, negative_slope * "
                                     "x), so the slope at 0 is 1",
                              "mygrad": "mygrad/nnet/activations/leaky_relu.py: leaky_relu, built from "
                                        "mygrad.maximum and minimum",
                              "tinygrad": "tinygrad/mixin/elementwise.py: leaky_relu is (x < 0).where(slope * x, "
                                          "x), so the slope at 0 is 1"},
                 lacks={"autograd": "HIPS autograd has no leaky_relu (only autograd.numpy's ufuncs and "
                                    "autograd.scipy.special); its users write np.where(x > 0, x, slope * x)"}),
         Prose(note="leaky_relu'(0) = slope, as torch",
               why="The slope is piecewise constant and exact; at x = 0 the engine and torch use the left slope, "
                   "SymPy's Max(0, x) + slope*Min(0, x) differentiates through Heaviside(0) = 1/2 to (1 + slope)/2.",
               second={"leaky_relu@0": "leaky_relu'' = 0 everywhere"}),
         params=("slope",), defaults=(0.01,), edges=(Edge("leaky_relu@0", "x = 0", lambda x, slope: x == 0, "kink",
                                                          "no derivative: the one-sided slopes are slope and 1",
                                                          lambda slope: ((min(slope, 1.0), max(slope, 1.0)),)),),
         analytic=False),
    Rule("maximum", _fn("maximum"),
         (lambda m, z, x, y: m.heaviside(x - y, 0.5), lambda m, z, x, y: m.heaviside(y - x, 0.5)), _maximum,
         Spelling("max", method="maximum", names=("maximum", "max")),
         Sampling(probe=(0.5, -0.25), points=((1, 2), (2, 1), (1.5, 1.5), (-3, -3)), sample=((-3, 3), (-3, 3)),
                  guard="maximum({0}, {1})"),
         Systems(sympy=lambda s, x, y: s.Max(x, y), torch=lambda t, x, y: t.maximum(x, y),
                 torch_formula=("self: at::where(self == other, grad / 2, grad).masked_fill_(self < other, 0)",
                                "other: at::where(self == other, grad / 2, grad).masked_fill_(self > other, 0)"),
                 jax=lambda j, x, y: j.numpy.maximum(x, y), autograd=lambda a, x, y: a.numpy.maximum(x, y),
                 mygrad=lambda g, x, y: g.maximum(x, y), tinygrad=lambda t, x, y: x.maximum(y),
                 spelled={"jax": "jnp.maximum({0}, {1})",
                          "autograd": "np.maximum({0}, {1})",
                          "mygrad": "mg.maximum({0}, {1})",
                          "tinygrad": "{0}.maximum({1})"},
                 rule_source={"jax": "jax/_src/lax/lax.py: max_p's JVP through _balanced_eq (half the tangent to "
                                     "each input at a tie)",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.maximum's VJPs through balanced_eq "
                                          "(half to each input at a tie)",
                              "mygrad": "mygrad/math/misc/ops.py: _MaxMin.backward_var (at a tie the mask is False "
                                        "for both inputs)",
                              "tinygrad": "tinygrad/mixin/gradient.py: pm_gradient (MAX): x > y gives ctx, a tie "
                                          "gives ctx * 0.5 to each input"}),
         Prose(note="at a tie each input gets 1/2, as torch and SymPy's Heaviside(0)",
               why="Away from ties the partials are exactly 0 and 1. At a tie torch splits the gradient, 1/2 to each "
                   "input, and SymPy's Max differentiates to Heaviside(x - y) = 1/2 there: the engine does the same."),
         edges=(Edge("maximum@tie", "x = y", lambda x, y: x == y, "kink",
                     "no derivative at a tie: the one-sided slopes are 0 and 1 for each input",
                     ((0.0, 1.0), (0.0, 1.0))),),
         analytic=False),
    Rule("sinh", _fn("sinh"), (lambda m, z, x: m.cosh(x),), _sinh,
         Spelling("sinh", method="sinh", names=("sinh",)),
         Sampling(points=((0,), (0.5,), (-3,), (20,), (711,)), sweep=("lin", -30, 30), guard="sinh(tanh({0}))"),
         Systems(sympy=lambda s, x: s.sinh(x), torch=lambda t, x: t.sinh(x),
                 torch_formula=("self: grad * self.cosh().conj()",),
                 jax=lambda j, x: j.numpy.sinh(x), autograd=lambda a, x: a.numpy.sinh(x),
                 mygrad=lambda g, x: g.sinh(x), tinygrad=lambda t, x: x.sinh(),
                 spelled={"jax": "jnp.sinh({0})",
                          "autograd": "np.sinh({0})",
                          "mygrad": "mg.sinh({0})",
                          "tinygrad": "{0}.sinh()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: sinh_p's JVP (g * cosh(x))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.sinh's VJP (g * cosh(x))",
                              "mygrad": "mygrad/math/hyperbolic_trig/ops.py: Sinh.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: sinh is (exp(x) - exp(-x)) / 2"}),
         Prose(why="cosh(x) is as accurate as cosh itself; past |x| = 710.5 both overflow to inf together.")),
    Rule("cosh", _fn("cosh"), (lambda m, z, x: m.sinh(x),), _cosh,
         Spelling("cosh", method="cosh", names=("cosh",)),
         Sampling(points=((0,), (0.5,), (-3,), (20,), (-711,)), sweep=("lin", -30, 30), guard="cosh(tanh({0}))"),
         Systems(sympy=lambda s, x: s.cosh(x), torch=lambda t, x: t.cosh(x),
                 torch_formula=("self: grad * self.sinh().conj()",),
                 jax=lambda j, x: j.numpy.cosh(x), autograd=lambda a, x: a.numpy.cosh(x),
                 mygrad=lambda g, x: g.cosh(x), tinygrad=lambda t, x: x.cosh(),
                 spelled={"jax": "jnp.cosh({0})",
                          "autograd": "np.cosh({0})",
                          "mygrad": "mg.cosh({0})",
                          "tinygrad": "{0}.cosh()"},
                 rule_source={"jax": "jax/_src/lax/lax.py: cosh_p's JVP (g * sinh(x))",
                              "autograd": "autograd/numpy/numpy_vjps.py: anp.cosh's VJP (g * sinh(x))",
                              "mygrad": "mygrad/math/hyperbolic_trig/ops.py: Cosh.backward_var",
                              "tinygrad": "tinygrad/mixin/elementwise.py: cosh is (exp(x) + exp(-x)) / 2"}),
         Prose(why="sinh(x) is as accurate as sinh itself, also near 0 where it is tiny; past |x| = 710.5 both "
                   "overflow.")),
    # 2/sqrt(pi) with pi as 4*atan(1): the same double as 2/math.sqrt(math.pi), and exact on SymPy symbols
    Rule("erf", _fn("erf"), (lambda m, z, x: m.div(2, m.sqrt(4 * m.atan(1))) * m.exp(-(x * x)),), math.erf,
         Spelling("erf", method="erf", names=("erf",)),
         Sampling(points=((0,), (0.5,), (-1.5,), (3,), (6,), (27,), (-40,)), sweep=("lin", -27, 27),
                  guard="erf({0})"),
         Systems(sympy=lambda s, x: s.erf(x), torch=lambda t, x: t.erf(x),
                 torch_formula=("self: 2.0 / sqrt(M_PI) * exp(-(self.pow(2))) * grad",),
                 jax=lambda j, x: j.scipy.special.erf(x), autograd=lambda a, x: a.scipy.special.erf(x),
                 tinygrad=lambda t, x: x.erf(),
                 spelled={"jax": "jax.scipy.special.erf({0})", "autograd": "autograd.scipy.special.erf({0})",
                          "tinygrad": "{0}.erf()"},
                 rule_source={"jax": "jax/_src/lax/special.py: erf_p's JVP (2/sqrt(pi) * exp(-x**2) * g)",
                              "autograd": "autograd/scipy/special.py: erf's VJP (2 * g / sqrt(pi) * exp(-x**2))",
                              "tinygrad": "tinygrad/mixin/elementwise.py: erf is Abramowitz and Stegun 7.1.26, a "
                                          "polynomial in 1/(1 + 0.33|x|) times exp(-x**2), differentiated as built"},
                 lacks={"mygrad": "mygrad has no erf"}),
         Prose(why="2/sqrt(pi) * exp(-x*x) as torch and SymPy write it: exp multiplies the rounding error of x*x "
                   "by x**2, so the slope loses digits as |x| grows (about 6e-14 relative near |x| = 25, where x*x is "
                   "not exact); past |x| of about 27.3 it underflows to 0, as the true slope does in float64.")),
)
# fmt: on
RULES: dict[str, Rule] = {rule.name: rule for rule in _TABLE}


class FloatMath:
    """The float namespace: one IEEE-safe function per registry row, plus the helpers."""

    inf = math.inf
    nan = math.nan

    def __init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-read the registry (after ``override``)."""
        for name, fn in HELPERS.items():
            setattr(self, name, fn)
        for rule in RULES.values():
            setattr(self, rule.name, rule.float)


FLOAT = FloatMath()

_LISTENERS: list[Callable[[], None]] = [FLOAT.refresh]


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a row is replaced (the engine regenerates its fast paths)."""
    _LISTENERS.append(listener)


@contextmanager
def override(rule: Rule) -> Iterator[Rule]:
    """Use ``rule`` in place of the registry row of the same name inside the block (planted bugs, studies)."""
    if rule.name not in RULES:
        raise KeyError(f"no op {rule.name!r} in the registry")
    original = RULES[rule.name]
    RULES[rule.name] = rule
    try:
        for listener in _LISTENERS:
            listener()
        yield rule
    finally:
        RULES[rule.name] = original
        for listener in _LISTENERS:
            listener()


def replaced(name: str, **changes) -> Rule:
    """A copy of the row ``name`` with some fields changed (for ``override``)."""
    return replace(RULES[name], **changes)
