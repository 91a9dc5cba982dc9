"""The rules proved: each registry row's partials, on SymPy symbols, against ``sympy.diff``.

For each op, the engine's own rule evaluated in a SymPy namespace (the row's ``sympy``
definitions plus the helpers), next to ``sympy.diff`` of the op's definition and PyTorch's
``derivatives.yaml`` formula, with whether SymPy can prove them equal (or only at random
points); and each second partial, the engine's partial differentiated again. The study's
pages (``reference.output.study``) show these proofs beside their sweeps.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy

from autodiff.rules import RULES
from reference.core.budget import cpu_budget
from reference.core.errors import NoOracle
from reference.oracle.rule_math import SYMPY_RULE_MATH

X, Y, Z, C = sympy.symbols("x y z c", real=True)


PROOF_BUDGET = 20.0


def torch_formula(op: str, i: int, *args) -> tuple[str, sympy.Expr]:
    """PyTorch's derivatives.yaml entry for input i, and the formula it computes on SymPy symbols (z: the output)."""
    rule = RULES[op]
    entry = rule.systems.torch_formula[i] if i < len(rule.systems.torch_formula) else "(no entry)"
    if rule.systems.torch_partials is not None:
        return entry, sympy.sympify(rule.systems.torch_partials(SYMPY_RULE_MATH, Z, *args)[i])
    return entry, sympy.sympify(rule.partial(i, SYMPY_RULE_MATH, Z, *args))


@dataclass
class Partial:
    """One input's partial, as the engine, SymPy and PyTorch state it."""

    input: str
    engine_as_written: sympy.Expr
    engine: sympy.Expr
    sympy: sympy.Expr
    proof: str  # proved equal / numerically equal / different
    proof_detail: str
    torch_entry: str
    torch: sympy.Expr
    torch_same: str


@dataclass
class Second:
    """One second partial: the engine's partial_i (its rule on SymPy symbols, z replaced by the forward)
    differentiated in input j, next to ``sympy.diff`` of the forward twice."""

    first: str  # the input of the engine's partial
    then: str  # the input it is differentiated in
    engine: sympy.Expr
    sympy: sympy.Expr
    proof: str
    proof_detail: str


def symbols_of(op: str) -> tuple[list[sympy.Symbol], tuple]:
    """The op's input symbols (x, y) and its parameters' symbols."""
    rule = RULES[op]
    return [X, Y][: rule.arity], tuple(sympy.Symbol(p, real=True) for p in rule.params)


def _numeric_check(a: sympy.Expr, b: sympy.Expr, symbols, rng: random.Random) -> tuple[bool, str]:
    """Compare at 60 random points (positive and negative, away from 0) at 30 digits."""
    special = {"relu": lambda v: max(v, 0), "DiracDelta": lambda v, *k: mpmath.mpf(0) if v != 0 else mpmath.nan,
               "Heaviside": lambda v, *h: mpmath.mpf(1) if v > 0 else mpmath.mpf(0)}
    fa = sympy.lambdify(symbols, a, modules=[special, "mpmath"])
    fb = sympy.lambdify(symbols, b, modules=[special, "mpmath"])
    with mpmath.workdps(30):
        for _ in range(60):
            values = [mpmath.mpf(rng.choice((-1, 1)) * rng.uniform(0.1, 3)) for _ in symbols]
            try:
                va, vb = fa(*values), fb(*values)
            except (ZeroDivisionError, ValueError):
                continue
            if abs(va - vb) > mpmath.mpf(10) ** -20 * max(1, abs(vb)):
                return False, f"differ at {', '.join(f'{s}={float(v):.3g}' for s, v in zip(symbols, values))}"
    return True, "equal at 60 random points (30 digits), which avoid 0"


def _prove(a: sympy.Expr, b: sympy.Expr, symbols) -> tuple[str, str]:
    try:
        with cpu_budget(PROOF_BUDGET):
            if sympy.simplify(a - b) == 0:
                return "proved equal", "simplify(engine - sympy) == 0"
    except NoOracle:
        pass
    ok, detail = _numeric_check(a, b, symbols, random.Random(0))
    return ("numerically equal", "not proved by simplify; " + detail) if ok else ("different", detail)


def _torch_same(engine_z: sympy.Expr, torch_z: sympy.Expr, engine: sympy.Expr, torch: sympy.Expr) -> str:
    if sympy.simplify(engine_z - torch_z) == 0:
        return "the same expression"
    if sympy.simplify(engine - torch) == 0:
        return "the same function, written differently"
    return "different (the note and the accuracy section say where)"


def _on_symbols(op: str) -> tuple:
    """(its row, input symbols, constant symbols, its forward on them) for an op."""
    rule = RULES[op]
    inputs, consts = symbols_of(op)
    return rule, inputs, consts, rule.forward(SYMPY_RULE_MATH, *inputs, *consts)


def rules_side_by_side(op: str) -> tuple[sympy.Expr, list[Partial]]:
    """The engine's rule on SymPy symbols, sympy.diff, PyTorch's formula, and the proofs."""
    rule, inputs, consts, forward = _on_symbols(op)
    args = (*inputs, *consts)
    partials = []
    for i, symbol in enumerate(inputs):
        as_written = sympy.sympify(rule.partial(i, SYMPY_RULE_MATH, Z, *args))
        engine = as_written.subs(Z, forward)
        exact = sympy.diff(forward, symbol)
        proof, detail = _prove(engine, exact, [*inputs, *consts])
        entry, torch_z = torch_formula(op, i, *args)
        torch = torch_z.subs(Z, forward)
        partials.append(Partial(str(symbol), as_written, engine, exact, proof, detail, entry, torch_z,
                                _torch_same(as_written, torch_z, engine, torch)))
    return forward, partials


def second_rules(op: str) -> list[Second]:
    """Every second partial of the op: the engine's rule differentiated symbolically, proved against
    ``sympy.diff`` applied twice (both orders of a mixed pair: d/dj of the engine's partial_i)."""
    rule, inputs, consts, forward = _on_symbols(op)
    args = (*inputs, *consts)
    out = []
    for i, a in enumerate(inputs):
        engine_partial = sympy.sympify(rule.partial(i, SYMPY_RULE_MATH, Z, *args)).subs(Z, forward)
        for b in inputs:
            engine = sympy.diff(engine_partial, b)
            exact = sympy.diff(sympy.diff(forward, a), b)
            proof, detail = _prove(engine, exact, [*inputs, *consts])
            out.append(Second(str(a), str(b), engine, exact, proof, detail))
    return out
