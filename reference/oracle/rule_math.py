"""The registry's rules on SymPy symbols: the math namespace ``m`` whose ops are each row's SymPy definition.

The study proves each partial with it, the diagnosis shows a slipped partial as a formula with it.
"""
import sympy

from autodiff.rules import RULES


class SympyRuleMath:
    """The namespace that turns the engine's rules into SymPy expressions: each row's ``sympy`` definition."""

    mul0 = staticmethod(lambda a, b: a * b)
    heaviside = staticmethod(lambda a, h0: sympy.Heaviside(a, h0))
    sign = staticmethod(sympy.sign)
    where = staticmethod(lambda a, p, q: sympy.Piecewise((p, a > 0), (q, True)))


for _rule in RULES.values():
    setattr(SympyRuleMath, _rule.name, staticmethod(lambda *a, _r=_rule: _r.systems.sympy(sympy, *a)))
SYMPY_RULE_MATH = SympyRuleMath()
