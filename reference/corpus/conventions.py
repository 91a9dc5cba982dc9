"""What each backend does at a kink or domain edge, declared per op.

A record that disagrees with the oracle at a point marked with one of these keys is a
``convention`` (not a ``mismatch``) when the backend gives exactly the value declared here.
A backend missing from an entry has no documented convention there: a disagreement is a
mismatch. ``ANY`` marks a method whose number has no meaning at that point.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from autodiff.rules import FLOAT, RULES, Edge, Rule

ANY = None
NAN = float("nan")


@dataclass(frozen=True)
class Convention:
    """One edge of one op (a registry ``Edge``): each backend's partials there, with why.

    ``expected[backend]`` is a tuple of per-input partials (``ANY``: any value) at the row's probe
    parameters; where they depend on the op's constant parameters (leaky_relu's slope),
    ``by_params[backend]`` is the function of the parameters and ``expected_for`` applies it.
    """

    key: str
    expected: dict[str, tuple]
    why: dict[str, str]
    by_params: dict[str, Callable[..., tuple]] = field(default_factory=dict)

    @property
    def edge(self) -> Edge:
        return EDGES[self.key][1]

    @property
    def op(self) -> str:
        return EDGES[self.key][0].name

    @property
    def where(self) -> str:
        return self.edge.where

    @property
    def truth(self) -> str:
        return self.edge.truth

    def expected_for(self, backend: str, params: tuple = ()) -> tuple | None:
        """The partials ``backend`` gives here (None: no declared convention)."""
        fn = self.by_params.get(backend)
        if fn is not None and params:
            return fn(*params)
        return self.expected.get(backend)


# edge key -> (the registry row, its Edge)
EDGES: dict[str, tuple[Rule, Edge]] = {e.key: (r, e) for r in RULES.values() for e in r.edges}


# Backends that run the engine's own rules, so they follow its conventions.
SAME_RULES_AS_ENGINE = ("forward",)


def _convention(key: str, expected: dict, why: dict) -> Convention:
    for name in SAME_RULES_AS_ENGINE:
        if "engine" in expected:
            expected = {**expected, name: expected["engine"]}
        if "engine" in why:
            why = {**why, name: f"the engine's rules in forward mode: {why['engine']}"}
    by_params = {b: e for b, e in expected.items() if callable(e)}
    defaults = EDGES[key][0].sampling.probe_params
    return Convention(key, {b: e(*defaults) if callable(e) else e for b, e in expected.items()}, why, by_params)


CONVENTIONS: dict[str, Convention] = {c.key: c for c in (
    _convention("relu@0", {"engine": (0.0,), "torch": (0.0,), "sympy": (0.5,), "oracle": (0.5,), "fd-forward": (1.0,),
         "fd-central": (0.5,), "fd-five-point": (0.5,), "fd-richardson": (0.5,)},
        {"engine": "the rule's partial is step(x) with step(0) = 0, the subgradient torch uses",
         "torch": "threshold_backward passes the gradient only where the output is > 0",
         "sympy": "relu differentiates to Heaviside(x), and SymPy defines Heaviside(0) = 1/2",
         "fd-forward": "(relu(h) - relu(0)) / h = 1: the right-hand slope",
         "fd-central": "a symmetric difference averages the two one-sided slopes: 1/2",
         "fd-five-point": "a symmetric stencil: (8h - 2h) / 12h = 1/2",
         "fd-richardson": "extrapolated symmetric differences, each 1/2"}),
    _convention("abs@0", {"engine": (0.0,), "torch": (0.0,), "sympy": (0.0,), "oracle": (0.0,), "fd-forward": (1.0,),
         "fd-central": (0.0,), "fd-five-point": (0.0,), "fd-richardson": (0.0,)},
        {"engine": "the rule's partial is sign(x) with sign(0) = 0, as torch's sgn",
         "torch": "abs_backward is grad * sgn(x), and sgn(0) = 0",
         "sympy": "diff(Abs(x)) for real x is sign(x), and sign(0) = 0",
         "fd-forward": "(|h| - 0) / h = 1: the right-hand slope",
         "fd-central": "|h| - |-h| = 0: the symmetric difference sees no slope"}),
    _convention("pow@x=0", {"engine": (0.0, 0.0), "torch": (0.0, 0.0), "sympy": (NAN, NAN), "oracle": (NAN, NAN),
         "fd-forward": (ANY, 0.0), "fd-central": (0.0, 0.0), "fd-five-point": (0.0, 0.0),
         "fd-richardson": (0.0, 0.0), "fd-complex-step": (0.0, ANY),
         "jax": (0.0, 0.0), "autograd": (0.0, 0.0), "mygrad": (0.0, 0.0), "tinygrad": (0.0, 0.0)},
        {"engine": "the partial mul0(z, log x) takes 0 * log(0) as 0 where the output is 0",
         "jax": "_pow_jvp_rhs takes log(_replace_zero(x)) = log(1) at x = 0, times ans = 0",
         "autograd": "power's VJP in y takes log(replace_zero(x, 1.0)) = 0 at x = 0",
         "mygrad": "Power.backward_var takes log(where(x, x, 1)) = 0 at x = 0",
         "tinygrad": "POW's gradient in the exponent is b.eq(0).where((e < 0).where(-inf, 0), ...): 0 for e >= 0",
         "torch": "pow_backward_exponent masks base == 0 with exponent >= 0 to 0",
         "sympy": "x**y*log(x) is 0 * (-oo) = nan, and d/dx is written y*x**y/x = 0/0: the formulas, "
                  "not the function, are undefined",
         "oracle": "the oracle is SymPy's formula, so it says nan too",
         "fd-forward": "d/dx: (h**y - 0) / h = h**(y-1), which is 0 only in the limit",
         "fd-central": "0**(y + h) = 0**(y - h) = 0: the difference sees the flat function",
         "fd-five-point": "every stencil point gives 0**(y + kh) = 0",
         "fd-richardson": "every central difference is 0",
         "fd-complex-step": "0j**(y + ih) goes through the complex logarithm of 0"}),
    _convention("sqrt@0", {"engine": (float("inf"),), "torch": (float("inf"),), "fd-forward": (ANY,),
                          "fd-complex-step": (ANY,)},
        {"engine": "0.5 / sqrt(0) = inf, as torch",
         "torch": "grad / (2 * result) = inf",
         "fd-forward": "(sqrt(h) - 0) / h = 1/sqrt(h): a finite number set by the step alone",
         "fd-complex-step": "Im sqrt(ih) / h = 1/sqrt(2h): finite, set by the step alone",
         "fd-central": "sqrt(-h) is nan: the difference is undefined"}),
    _convention("powc@0", {"engine": (float("inf"),), "torch": (float("inf"),), "fd-forward": (ANY,),
                          "fd-complex-step": (ANY,)},
        {"engine": "c * 0**(c-1) = c * inf",
         "fd-forward": "h**c / h = h**(c-1): finite, set by the step alone",
         "fd-complex-step": "Im (ih)**c / h: finite, set by the step alone"}),
    _convention("pow@neg", {"fd-complex-step": (ANY, ANY)},
        {"fd-complex-step": "Im of the principal complex power: a finite number with no real meaning",
         "engine": "mul0(z, log x) with log(x < 0) = nan", "torch": "result * log(self) = nan"}),
    _convention("powc@neg", {}, {"engine": "IEEE pow gives nan, and so does the partial"}),
    _convention("powc@pole", {}, {"engine": "IEEE pow gives inf for 0**-1",
                                  "fd-forward": "f(0) = inf: no difference quotient"}),
    _convention("powc@x**0", {}, {"engine": "mul0(0, 0**-1) = 0 rather than 0 * inf = nan, as torch",
                    "sympy": "SymPy simplifies x**0 to 1 before differentiating"}),
    _convention("div@y=0", {}, {"engine": "IEEE division gives inf (or nan for 0/0), and -z/y for the partial",
                    "sympy": "SymPy's zoo (complex infinity) has no sign, so the oracle says nan"}),
    _convention("log@0", {}, {"engine": "log(0) = -inf and 1/0 = inf, as torch"}),
    _convention("log@neg", {}, {"engine": "log(-1) = nan, while the partial 1/x = -1 is finite, as torch"}),
    _convention("sqrt@neg", {}, {"engine": "sqrt(-1) = nan, as torch"}),
    _convention("log1p@-1", {}, {"engine": "log1p(-1) = -inf and 1/(1 + x) = 1/0 = inf, as torch"}),
    _convention("log1p@neg", {}, {"engine": "log1p(-2) = nan, while the partial 1/(1 + x) = -1 is finite, as torch"}),
    _convention("leaky_relu@0",
       {"engine": lambda slope: (slope,), "torch": lambda slope: (slope,), "sympy": lambda slope: ((1 + slope) / 2,),
        "oracle": lambda slope: ((1 + slope) / 2,), "fd-forward": (1.0,),
        "fd-central": lambda slope: ((1 + slope) / 2,),
        "fd-five-point": lambda slope: ((1 + slope) / 2,), "fd-richardson": lambda slope: ((1 + slope) / 2,)},
       {"engine": "the rule's partial is where(x, 1, slope): x > 0 is false at 0, so the left slope, as torch",
        "torch": "leaky_relu_backward passes grad where self > 0, else grad * negative_slope",
        "sympy": "Max(0, x) + slope*Min(0, x) differentiates through Heaviside(0) = 1/2 to (1 + slope)/2",
        "fd-forward": "(f(h) - f(0)) / h = 1: the right-hand slope",
        "fd-central": "a symmetric difference averages the one-sided slopes: (1 + slope)/2"}),
    _convention("maximum@tie",
       {"engine": (0.5, 0.5), "torch": (0.5, 0.5), "sympy": (0.5, 0.5), "oracle": (0.5, 0.5), "fd-forward": (1.0, 1.0),
        "fd-central": (0.5, 0.5), "fd-five-point": (0.5, 0.5), "fd-richardson": (0.5, 0.5)},
       {"engine": "the partials are heaviside(x - y, 1/2) and heaviside(y - x, 1/2): half the gradient to each, "
                  "as torch",
        "torch": "derivatives.yaml: at::where(self == other, grad / 2, grad), masked where the input is smaller",
        "sympy": "Max(x, y) differentiates to Heaviside(x - y), and Heaviside(0) = 1/2",
        "fd-forward": "raising either input by h raises the maximum by h: slope 1 for each",
        "fd-central": "up by h on one side, flat on the other: 1/2 for each"}),
)}


# -- second order ------------------------------------------------------------------------------
class SecondConvention(Convention):
    """One edge of one op at second order: each backend's local second partials there (rows of the
    op's a x a matrix d/d input_j of partial_i; ``ANY`` where the number has no meaning), with why.
    Keyed by the same registry edge keys as the first-order table; the first-order partials at
    the node come from ``CONVENTIONS``."""


def _s(key: str, expected: dict, why: dict) -> SecondConvention:
    for name in SAME_RULES_AS_ENGINE:
        if "engine" in expected:
            expected = {**expected, name: expected["engine"]}
        if "engine" in why:
            why = {**why, name: f"forward over reverse with the engine's rules: {why['engine']}"}
    if not EDGES[key][0].params:  # a callable is a function of the node's float inputs, applied where it is met
        return SecondConvention(key, dict(expected), why)
    by_params = {b: e for b, e in expected.items() if callable(e)}
    defaults = EDGES[key][0].sampling.probe_params
    return SecondConvention(key, {b: e(*defaults) if callable(e) else e for b, e in expected.items()}, why, by_params)


SECOND: dict[str, SecondConvention] = {}


def _pow_x0_seconds(fill_y_row: float):
    """pow's local second partials at x = 0 as the engine's rules give them: d/dx of mul0(y, x**(y-1)) is
    y*(y-1)*x**(y-2) with the same 0-mask (the one-sided limit: 2 at y = 2, 0 for y > 2), and the
    partial in y, mul0(z, log x), is the constant 0 there, so its row is ``fill_y_row``."""

    def seconds(x, y):
        return ((FLOAT.mul0(y * (y - 1), FLOAT.pow(x, y - 2)), 0.0), (fill_y_row, fill_y_row))
    return seconds


_KINK_FD = "a difference of the gradient across the kink: a jump over a step of 2h, about 1/(2h), set by the step alone"
_FLAT_AD = "the partial is piecewise constant in the engine (a Heaviside, sign or where of the input), so it has no " \
           "graph and its derivative is 0 at the kink too"


# The other AD systems of the atlas at second order: where a kink's first partial is piecewise
# constant in the system's own rule (a select, a where, a mask), its derivative is 0 at the kink too.
ATLAS_SYSTEMS = ("jax", "autograd", "tinygrad")
_SECOND_AT_KINKS = {
    "relu@0": ((0.0,),), "abs@0": ((0.0,),), "leaky_relu@0": ((0.0,),),
    "maximum@tie": ((0.0, 0.0), (0.0, 0.0)),
}
_SECOND_WHY = {
    "jax": "the JVP is a select or where of the input (relu's custom_jvp, _abs_jvp_rule, _balanced_eq): "
           "constants in the input, so their derivative is 0",
    "autograd": "the VJP multiplies by a comparison of the input (balanced_eq, replace_zero): a constant, "
                "so its derivative is 0",
    "tinygrad": "WHERE and MAX pass the gradient through masks, and a mask's gradient is None: 0",
}

SECOND.update({c.key: c for c in (
    _s("relu@0", {"engine": ((0.0,),), "torch": ((0.0,),), "fd-central": ((ANY,),)},
       {"engine": _FLAT_AD, "torch": "threshold_backward's derivative in its input is 0 (the mask is a constant)",
        "fd-central": _KINK_FD, "oracle": "relu'' is DiracDelta(x), which has no value at 0: nan"}),
    _s("abs@0", {"engine": ((0.0,),), "torch": ((0.0,),), "fd-central": ((ANY,),)},
       {"engine": _FLAT_AD, "torch": "grad * sgn(x): sgn has derivative 0 in autograd", "fd-central": _KINK_FD,
        "oracle": "abs'' is 2*DiracDelta(x), no value at 0: nan"}),
    _s("leaky_relu@0", {"engine": ((0.0,),), "torch": ((0.0,),), "fd-central": ((ANY,),)},
       {"engine": _FLAT_AD, "torch": "leaky_relu_backward's mask is a constant: derivative 0", "fd-central": _KINK_FD,
        "oracle": "(1 - slope)*DiracDelta(x) at 0: nan"}),
    _s("maximum@tie", {"engine": ((0.0, 0.0), (0.0, 0.0)), "torch": ((0.0, 0.0), (0.0, 0.0)),
                       "fd-central": ((ANY, ANY), (ANY, ANY))},
       {"engine": "the partials are heaviside(x - y, 1/2): constants, so every second partial is 0",
        "torch": "where/masked_fill are constants in autograd: 0", "fd-central": _KINK_FD,
        "oracle": "DiracDelta(x - y) terms at a tie: nan"}),
    _s("powc@x**0", {"engine": ((0.0,),), "torch": ((0.0,),)},
       {"engine": "mul0(0, x**-1) is the constant 0 at x = 0 (no graph), so x**0 has second derivative 0",
        "torch": "pow_backward masks exponent == 0 to 0: a constant"}),
    _s("pow@x=0", {"engine": _pow_x0_seconds(0.0)},
       {"engine": "d/dx of mul0(y, x**(y-1)) is y*(y-1)*x**(y-2) (2 at y = 2: the one-sided limit), and the partial "
                  "in y is the constant mul0(z, log 0) = 0, so its row is 0; the oracle's formulas are 0*log(0) = nan",
        "torch": "pow_backward_exponent is where(x == 0 & y >= 0, 0, grad*result*log(x)): autograd still "
                 "differentiates the masked branch, 0 * log(0) = nan, so the row of d/dy is nan"}),
)})


def _add_systems_at_kinks() -> None:
    """The atlas systems' declared second-order convention at each kink: 0, as the engine and torch."""
    for key, zeros in _SECOND_AT_KINKS.items():
        old = SECOND[key]
        expected = {**old.expected, **{name: zeros for name in ATLAS_SYSTEMS}}
        why = {**old.why, **{name: _SECOND_WHY[name] for name in ATLAS_SYSTEMS}}
        by_params = dict(old.by_params)
        SECOND[key] = SecondConvention(key, expected, why, by_params)
    pow0 = SECOND["pow@x=0"]
    SECOND["pow@x=0"] = SecondConvention(
        "pow@x=0", {**pow0.expected, **{name: _pow_x0_seconds(0.0) for name in (*ATLAS_SYSTEMS,)}},
        {**pow0.why, **{name: "the one-sided limits: d2/dx2 = y*(y-1)*x**(y-2) (2 at y = 2, 0 above), and 0 for the "
                              "rows of y, where x**y and its partials vanish" for name in ATLAS_SYSTEMS}},
        dict(pow0.by_params))


_add_systems_at_kinks()
