"""SymPy's derivative evaluated in float64, node by node, as the Python code SymPy's printers write.

The operation order is that of ``lambdify`` without ``cse``; the functions are the ``math`` module behind
IEEE wrappers (``1/0 = inf``, ``log(-1) = nan``), so the floats are the same on any x86-64 CPU. The
``sympy`` backend answers with these floats, and the stored corpus oracle keeps them beside the exact answer.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import sympy

from autodiff.rules import HELPERS, RULES
from reference.core.errors import NoOracle
from reference.oracle.definitions import SYMPY_NS
from reference.oracle.exact import DERIVATIONS, Derivation


# -- float64 code with IEEE semantics ------------------------------------------------------------
def _q(p: int, q: int) -> float:
    try:
        return p / q  # correctly rounded
    except OverflowError:
        return math.copysign(math.inf, p) * math.copysign(1.0, q)


def _heaviside(x: float, h0: float = 0.5) -> float:
    """SymPy's Heaviside, whose value at 0 is 1/2 unless given: the registry's step with that default."""
    return HELPERS["heaviside"](x, h0)


def _dirac(x: float, k: int = 0) -> float:
    return 0.0 if (x == x and x != 0) else math.nan


def _max(*xs: float) -> float:
    return math.nan if any(x != x for x in xs) else max(xs)


def _min(*xs: float) -> float:
    return math.nan if any(x != x for x in xs) else min(xs)


_F = {name: rule.float for name, rule in RULES.items()}  # the registry's IEEE float functions
IEEE_MATH = {
    "_q": _q, "_pow": _F["pow"], "_exp": _F["exp"], "_log": _F["log"], "_sin": _F["sin"], "_cos": _F["cos"],
    "_tan": _F["tan"], "_tanh": _F["tanh"], "_atan": _F["atan"], "_sinh": _F["sinh"],
    "_cosh": _F["cosh"], "_abs": _F["abs"], "_sign": HELPERS["sign"], "_heaviside": _heaviside,
    "_dirac": _dirac,
    "_relu": _F["relu"], "_max": _max, "_min": _min, "_pi": math.pi, "_e": math.e, "_inf": math.inf, "_nan": math.nan,
}  # the math module behind IEEE wrappers, by the names SymPy's float code has always used


# -- SymPy's expression evaluated node by node in floats -------------------------------------------
# A SymPy function's float function, by class name (a subclass answers to the first name of its MRO
# found here): the registry's IEEE functions, and the math module's own for the few functions a
# derivative brings in beside the registry's ops (atan2, from the real part of a root), as the
# printed code called them.
_MATH_CALLS = {"acos": "acos", "acosh": "acosh", "asin": "asin", "asinh": "asinh", "atan2": "atan2",
               "atanh": "atanh", "ceiling": "ceil", "erf": "erf", "erfc": "erfc", "floor": "floor",
               "gamma": "gamma", "loggamma": "lgamma"}
# What SymPy's derivatives bring in beside the registry's ops (steps, signs, Max of a kink's slopes).
_DERIVATIVE_CALLS = {"Abs": IEEE_MATH["_abs"], "sign": HELPERS["sign"], "DiracDelta": _dirac,
                     "Heaviside": _heaviside, "Max": _max, "Min": _min}


def _row_functions() -> dict[str, Callable]:
    """A SymPy function's class name -> its registry row's IEEE float function, for every row whose SymPy
    definition is one function applied to the inputs (exp, tanh, relu...): a new such row needs no edit here."""
    out = {}
    for rule in RULES.values():
        if rule.systems.sympy is None or rule.params:
            continue
        inputs = sympy.symbols(f"x0:{rule.arity}", real=True)
        definition = rule.systems.sympy(SYMPY_NS, *inputs)
        if getattr(definition, "is_Function", False) and definition.args == inputs:
            out[type(definition).__name__] = rule.float
    return out


_FUNCTIONS = {**{name: getattr(math, f) for name, f in _MATH_CALLS.items()}, **_DERIVATIVE_CALLS, **_row_functions()}
_BY_TYPE: dict[type, Callable] = {}  # a SymPy class -> its float function, found once
_pow = IEEE_MATH["_pow"]


def _function_of(node) -> Callable:
    """The float function of a SymPy function node (NoOracle for a node that has none)."""
    cls = type(node)
    fn = _BY_TYPE.get(cls)
    if fn is None:
        fn = next((_FUNCTIONS[k.__name__] for k in cls.__mro__ if k.__name__ in _FUNCTIONS), None)
        if fn is None:
            raise NoOracle(f"no IEEE float code for {cls.__name__}")
        _BY_TYPE[cls] = fn
    return fn


def _atom(node) -> float:
    """A SymPy number as a double: integers and rationals correctly rounded, the rest as IEEE has them."""
    if node.is_Integer:
        p = int(node.p)
        return _q(p, 1) if abs(p) > 2 ** 53 else float(p)
    if node.is_Rational:
        return _q(int(node.p), int(node.q))
    if node.is_Float:
        return float(node)
    if node is sympy.pi:
        return IEEE_MATH["_pi"]
    if node is sympy.E:
        return IEEE_MATH["_e"]
    if node is sympy.oo:
        return IEEE_MATH["_inf"]
    if node is sympy.S.NegativeInfinity:
        return -IEEE_MATH["_inf"]
    if node is sympy.nan or node is sympy.zoo or node is sympy.I:
        return IEEE_MATH["_nan"]  # no sign, or not real: IEEE has no such value
    if node.is_Symbol:
        raise NoOracle(f"the expression has a free symbol {node}")
    raise NoOracle(f"no IEEE float code for {type(node).__name__}")


def _node(node, memo: dict) -> float:
    """One node from its arguments' values, in the order of the Python code SymPy prints for it."""
    if node.is_Add:
        # The printers write a sum's terms in as_ordered_terms order, added left to right (x - 2*y
        # there is the same double as x + (-2)*y here: negation is exact).
        terms = node.as_ordered_terms()
        total = memo[terms[0]]
        for term in terms[1:]:
            total = total + memo[term]
        return total
    if node.is_Mul:
        args = node.args  # printed a*b*c in args order: ((a*b)*c)
        product = memo[args[0]]
        for arg in args[1:]:
            product = product * memo[arg]
        return product
    if node.is_Pow:
        return _pow(memo[node.base], memo[node.exp])
    if node.args:
        return _function_of(node)(*[memo[a] for a in node.args])
    return _atom(node)


def evaluate(exprs: Sequence[sympy.Expr], env: dict) -> list[float]:
    """``exprs`` as doubles with IEEE semantics at ``env`` ({symbol: float})."""
    # Each distinct subexpression is computed once and reused, within and across exprs (what
    # cse=True gave the generated code). The walk keeps its own stack, so a deep expression cannot
    # exhaust Python's recursion limit.
    memo = dict(env)
    for root in exprs:
        stack = [root]
        while stack:
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            pending = [a for a in node.args if a not in memo]
            if pending:
                if not (node.is_Add or node.is_Mul or node.is_Pow):
                    _function_of(node)  # Derivative, Piecewise...: NoOracle before evaluating any argument
                stack.extend(reversed(pending))  # the leftmost argument first, as printed code would run
                continue
            stack.pop()
            memo[node] = _node(node, memo)
    return [float(memo[e]) for e in exprs]


def float_function(derivation: Derivation, order: int = 1) -> Callable[..., list[float]]:
    """f(*variables, *placeholders) -> [value, *partials (, Hessian upper triangle)] of a derivation in float64."""
    outputs, arguments = derivation.outputs(order), derivation.arguments

    def run(*values: float) -> list[float]:
        return evaluate(outputs, dict(zip(arguments, values)))
    return run


def sympy_float(case, point, order: int = 1) -> list[float]:
    """SymPy's derivative in float64 at ``point``: [value, *partials (, Hessian upper triangle)]."""
    derivation = DERIVATIONS.get(case)
    args = [float(x) for x in point] + [v for _, v in derivation.placeholders]
    return float_function(derivation, order)(*args)
