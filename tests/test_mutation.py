"""Mutation test of the checker over the engine's own rule table: every planted slip must be caught.

For every rule and every partial: a sign flip, a factor 1 + 1e-6, each additive term dropped
(the partial evaluated on SymPy symbols, one term removed, turned back into a float function),
and a wrong value only at each of the op's edges (``Rule.edges``). Each mutant runs (engine
only, oracle computed once per point) through the corpus cases that use the op, and is caught
when any record of the subject fails. The score per rule (planted / caught) is printed and
written to ``$ADCHECK_MUTATION_SCORE`` when that is set.
"""
from __future__ import annotations

import json
import math
import os

import pytest
import sympy

from autodiff.rules import FLOAT, RULES, override, replace
from reference.running import harness
from reference.backends import make_backends
from reference.corpus.cases import CORPUS
from reference.judging.summary import is_subject_failure
from reference.oracle.rule_math import SYMPY_RULE_MATH

Z = sympy.Symbol("z", real=True)
INPUTS = sympy.symbols("x y", real=True)
PARAMS = sympy.symbols("c s", real=True)


SYMPY_MATH = SYMPY_RULE_MATH  # the rows as imported: overriding a row later plants a bug, not a new truth
_FLOAT_FUNCS = {"Heaviside": lambda x, h0=0.5: 1.0 if x > 0 else (0.0 if x < 0 else h0),
                "sign": FLOAT.sign, "Abs": abs, "exp": FLOAT.exp, "log": FLOAT.log, "sqrt": FLOAT.sqrt,
                "sin": FLOAT.sin, "cos": FLOAT.cos, "tanh": FLOAT.tanh, "tan": getattr(FLOAT, "tan", math.tan),
                "atan": math.atan, "log1p": getattr(FLOAT, "log1p", math.log1p)}


def _opaque(fn):
    """A partial the engine's code generator cannot trace (float() of a traced value raises), so it calls it."""
    def partial(m, z, *args):
        [float(a) for a in (z, *args)]
        return fn(m, z, *args)
    return partial


def _dropped_terms(rule, i) -> list[tuple[str, object]]:
    """(description, partial) for each additive term of partial i dropped."""
    p = rule.partials[i]
    if p.__class__ is float:
        return [(f"drop {p:g}", 0.0)]
    inputs = INPUTS[:rule.arity]
    params = PARAMS[:len(rule.params)] if rule.params else ()
    expr = sympy.expand(p(SYMPY_MATH, Z, *inputs, *params), power_exp=False, log=False, power_base=False)
    terms = sympy.Add.make_args(expr)
    out = []
    for term in terms:
        mutant = expr - term
        fn = sympy.lambdify((Z, *inputs, *params), mutant, modules=[_FLOAT_FUNCS, "math"])

        def partial(m, z, *args, _fn=fn):
            try:
                return float(_fn(z, *args))
            except (ZeroDivisionError, ValueError, OverflowError):
                return math.nan
        out.append((f"drop {term}", _opaque(partial)))
    return out


def mutants(rule) -> list[tuple[str, object]]:
    """(name, mutated Rule) for every planted slip in ``rule``."""
    out = []
    for i, p in enumerate(rule.partials):
        def swap(new, i=i):
            partials = list(rule.partials)
            partials[i] = new
            return replace(rule, partials=tuple(partials))
        if p.__class__ is float:
            out += [(f"d{i}: sign flip", swap(-p)), (f"d{i}: factor 1+1e-6", swap(p * (1 + 1e-6)))]
        else:
            out += [(f"d{i}: sign flip", swap(lambda m, z, *a, p=p: -p(m, z, *a))),
                    (f"d{i}: factor 1+1e-6", swap(lambda m, z, *a, p=p: (1 + 1e-6) * p(m, z, *a)))]
        out += [(f"d{i}: {what}", swap(new)) for what, new in _dropped_terms(rule, i)]
        for edge in rule.edges:
            slopes = edge.slopes(*rule.defaults) if edge.kind == "kink" else None
            wrong_kink = (slopes[i][1] + 1.0) if slopes and i < len(slopes) else None

            def at_edge(m, z, *args, p=p, edge=edge, wrong_kink=wrong_kink):
                if edge.test(*[float(a) for a in args]):
                    base = p if p.__class__ is float else p(m, z, *args)
                    if wrong_kink is not None:
                        return wrong_kink
                    return base + 1.0 if math.isfinite(base) else 7.0
                return p if p.__class__ is float else p(m, z, *args)
            out.append((f"d{i}: wrong at {edge.key}", swap(_opaque(at_edge))))
    return out


_ORACLES: dict = {}


def _cached_oracle(case, point):
    key = (case.name, point.values)
    if key not in _ORACLES:
        _ORACLES[key] = harness.OracleBackend().evaluate(case, point.values)
    return _ORACLES[key]


def caught(mutant, cases, engine) -> str:
    """The first failing record's case and point ('' if the mutant went unseen)."""
    with override(mutant):
        for c in cases:
            for r in harness.run_case(c, [engine]):
                if is_subject_failure(r):
                    return f"{c.name} at {tuple(r['point'].values())}"
    return ""


def score(rule_names, kinds=None) -> dict:
    engine = make_backends(["engine"])[0]
    table = {}
    for name in rule_names:
        rule = RULES[name]
        cases = [c for c in CORPUS if name in c.ops]
        rows = []
        for what, mutant in mutants(rule):
            if kinds and not any(k in what for k in kinds):
                continue
            rows.append((what, caught(mutant, cases, engine)))
        table[name] = {"planted": len(rows), "caught": sum(bool(w) for _, w in rows),
                       "missed": [w for w, where in rows if not where], "cases": len(cases)}
    return table


def _report(table) -> None:
    for name, row in table.items():
        print(f"{name:12} {row['caught']}/{row['planted']} caught  ({row['cases']} cases)"
              + (f"  MISSED: {row['missed']}" if row["missed"] else ""))
    path = os.environ.get("ADCHECK_MUTATION_SCORE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(table, f, indent=1)


@pytest.fixture(autouse=True)
def _oracle_once(monkeypatch):
    monkeypatch.setattr(harness, "_oracle", _cached_oracle)


def test_every_sign_flip_and_small_factor_in_the_core_rules_is_caught():
    core = ["mul", "div", "powc", "pow", "exp", "log", "tanh", "sigmoid", "sin", "cos", "sqrt"]
    table = score(core, kinds=("sign flip", "1+1e-6"))
    _report(table)
    assert all(row["caught"] == row["planted"] for row in table.values()), table


def test_every_planted_slip_in_every_rule_is_caught():
    table = score(list(RULES))
    _report(table)
    missed = {name: row["missed"] for name, row in table.items() if row["missed"]}
    assert not missed, missed
