"""What each backend does at a kink or domain edge, declared per op.

A record that disagrees with the oracle at a point marked with one of these keys is a
``convention`` (not a ``mismatch``) when the backend gives exactly the value declared here.
A backend missing from an entry has no documented convention there: a disagreement is a
mismatch. ``ANY`` marks a method whose number has no meaning at that point.
"""
from __future__ import annotations

from dataclasses import dataclass

ANY = None
NAN = float("nan")


@dataclass(frozen=True)
class Convention:
    """One edge point of one op: the oracle's answer and each backend's, with why."""

    key: str
    op: str
    where: str
    truth: str  # what mathematics says there
    expected: dict[str, tuple]  # backend -> partials at the point (ANY: any value)
    why: dict[str, str]


CONVENTIONS: dict[str, Convention] = {c.key: c for c in (
    Convention(
        "relu@0", "relu", "x = 0", "no derivative: the one-sided slopes are 0 and 1",
        {"engine": (0.0,), "torch": (0.0,), "sympy": (0.5,), "oracle": (0.5,), "fd-forward": (1.0,),
         "fd-central": (0.5,), "fd-five-point": (0.5,), "fd-richardson": (0.5,)},
        {"engine": "the rule's partial is step(x) with step(0) = 0, the subgradient torch uses",
         "torch": "threshold_backward passes the gradient only where the output is > 0",
         "sympy": "relu differentiates to Heaviside(x), and SymPy defines Heaviside(0) = 1/2",
         "fd-forward": "(relu(h) - relu(0)) / h = 1: the right-hand slope",
         "fd-central": "a symmetric difference averages the two one-sided slopes: 1/2",
         "fd-five-point": "a symmetric stencil: (8h - 2h) / 12h = 1/2",
         "fd-richardson": "extrapolated symmetric differences, each 1/2"}),
    Convention(
        "abs@0", "abs", "x = 0", "no derivative: the one-sided slopes are -1 and 1",
        {"engine": (0.0,), "torch": (0.0,), "sympy": (0.0,), "oracle": (0.0,), "fd-forward": (1.0,),
         "fd-central": (0.0,), "fd-five-point": (0.0,), "fd-richardson": (0.0,)},
        {"engine": "the rule's partial is sign(x) with sign(0) = 0, as torch's sgn",
         "torch": "abs_backward is grad * sgn(x), and sgn(0) = 0",
         "sympy": "diff(Abs(x)) for real x is sign(x), and sign(0) = 0",
         "fd-forward": "(|h| - 0) / h = 1: the right-hand slope",
         "fd-central": "|h| - |-h| = 0: the symmetric difference sees no slope"}),
    Convention(
        "pow@x=0", "pow", "x = 0, y > 0",
        "0**y = 0 for every y > 0, so the partial in y is exactly 0; for y > 1 the partial in x is 0 too",
        {"engine": (0.0, 0.0), "torch": (0.0, 0.0), "sympy": (NAN, NAN), "oracle": (NAN, NAN),
         "fd-forward": (ANY, 0.0), "fd-central": (0.0, 0.0), "fd-five-point": (0.0, 0.0),
         "fd-richardson": (0.0, 0.0), "fd-complex-step": (0.0, ANY)},
        {"engine": "the partial mul0(z, log x) takes 0 * log(0) as 0 where the output is 0",
         "torch": "pow_backward_exponent masks base == 0 with exponent >= 0 to 0",
         "sympy": "x**y*log(x) is 0 * (-oo) = nan, and d/dx is written y*x**y/x = 0/0: the formulas, "
                  "not the function, are undefined",
         "oracle": "the oracle is SymPy's formula, so it says nan too",
         "fd-forward": "d/dx: (h**y - 0) / h = h**(y-1), which is 0 only in the limit",
         "fd-central": "0**(y + h) = 0**(y - h) = 0: the difference sees the flat function",
         "fd-five-point": "every stencil point gives 0**(y + kh) = 0",
         "fd-richardson": "every central difference is 0",
         "fd-complex-step": "0j**(y + ih) goes through the complex logarithm of 0"}),
    Convention(
        "sqrt@0", "sqrt", "x = 0", "the slope is +inf (a vertical tangent); left of 0 there is no real sqrt",
        {"engine": (float("inf"),), "torch": (float("inf"),), "fd-forward": (ANY,), "fd-complex-step": (ANY,)},
        {"engine": "0.5 / sqrt(0) = inf, as torch",
         "torch": "grad / (2 * result) = inf",
         "fd-forward": "(sqrt(h) - 0) / h = 1/sqrt(h): a finite number set by the step alone",
         "fd-complex-step": "Im sqrt(ih) / h = 1/sqrt(2h): finite, set by the step alone",
         "fd-central": "sqrt(-h) is nan: the difference is undefined"}),
    Convention(
        "powc@0", "powc", "x = 0 with 0 < c < 1", "the slope is +inf, as for sqrt",
        {"engine": (float("inf"),), "torch": (float("inf"),), "fd-forward": (ANY,), "fd-complex-step": (ANY,)},
        {"engine": "c * 0**(c-1) = c * inf",
         "fd-forward": "h**c / h = h**(c-1): finite, set by the step alone",
         "fd-complex-step": "Im (ih)**c / h: finite, set by the step alone"}),
    Convention(
        "pow@neg", "pow", "x < 0 (partial in y)", "x**y * log(x): no real logarithm of x < 0",
        {"fd-complex-step": (ANY, ANY)},
        {"fd-complex-step": "Im of the principal complex power: a finite number with no real meaning",
         "engine": "mul0(z, log x) with log(x < 0) = nan", "torch": "result * log(self) = nan"}),
    Convention("powc@neg", "powc", "x < 0 with a non-integer c", "no real power: the value itself is nan",
               {}, {"engine": "IEEE pow gives nan, and so does the partial"}),
    Convention("powc@pole", "powc", "x = 0 with c < 0", "a pole: the value and the slope are infinite",
               {}, {"engine": "IEEE pow gives inf for 0**-1", "fd-forward": "f(0) = inf: no difference quotient"}),
    Convention("powc@x**0", "powc", "x = 0 with c = 0", "x**0 = 1 everywhere, so the slope is 0",
               {}, {"engine": "mul0(0, 0**-1) = 0 rather than 0 * inf = nan, as torch",
                    "sympy": "SymPy simplifies x**0 to 1 before differentiating"}),
    Convention("div@y=0", "div", "y = 0", "a pole: 1/0 has no finite value or slope",
               {}, {"engine": "IEEE division gives inf (or nan for 0/0), and -z/y for the partial",
                    "sympy": "SymPy's zoo (complex infinity) has no sign, so the oracle says nan"}),
    Convention("log@0", "log", "x = 0", "log(0) = -inf; the slope 1/x is infinite",
               {}, {"engine": "log(0) = -inf and 1/0 = inf, as torch"}),
    Convention("log@neg", "log", "x < 0", "no real logarithm; SymPy's 1/x is still finite there",
               {}, {"engine": "log(-1) = nan, while the partial 1/x = -1 is finite, as torch"}),
    Convention("sqrt@neg", "sqrt", "x < 0", "no real square root", {}, {"engine": "sqrt(-1) = nan, as torch"}),
)}
