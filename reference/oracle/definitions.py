"""The ops' mathematical definitions on the SymPy side: each registry row's ``sympy`` definition, written
against a namespace that is the sympy module plus ``relu`` and ``maximum`` (SymPy functions with the
derivatives of Max, built without Max's slow assumption queries), and floats taken exactly.
"""
from __future__ import annotations

from collections.abc import Callable

import sympy

from autodiff.rules import RULES
from reference.core.errors import NoOracle


# -- SymPy side: the ops' mathematical definitions ------------------------------------------------
class relu(sympy.Function):
    """max(0, x) as one SymPy function: its derivative is Heaviside(x) (so relu'(0) = 1/2 in SymPy).

    A function of its own rather than Max(0, x) keeps large networks' expressions small:
    SymPy's Max sorts and compares its arguments, which is slow on big expressions.
    """

    is_real = True

    @classmethod
    def eval(cls, x):
        if x.is_number:
            return sympy.Max(0, x)
        return None

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(0, x)


class maximum(sympy.Function):
    """max(x, y) as one SymPy function, differentiated as SymPy's Max is: Heaviside(x - y) and
    Heaviside(y - x) (so 1/2 each at a tie). Max compares its arguments and queries their
    assumptions whenever it is built, which made an expression with one take three times as long
    to derive; this one is built as it is and becomes Max once its arguments are numbers."""

    is_real = True

    @classmethod
    def eval(cls, x, y):
        if x.is_number and y.is_number:
            return sympy.Max(x, y)
        return None

    def fdiff(self, argindex=1):
        x, y = self.args
        return sympy.Heaviside(x - y) if argindex == 1 else sympy.Heaviside(y - x)


def _zero(a) -> bool:
    return (a.__class__ is int and a == 0) or (isinstance(a, sympy.Basic) and a.is_zero is True and a.is_number)


class _SympyNamespace:
    """The sympy module plus ``relu``: what an op's SymPy definition is written against.

    ``Max`` and ``Min`` of two arguments, one of them symbolic, are built as ``relu`` and
    ``maximum`` (the same function and the same derivatives, Heaviside(0) = 1/2 included) instead
    of SymPy's Max and Min, which are slow to build; with numbers they are SymPy's own.
    """

    relu = staticmethod(relu)
    maximum = staticmethod(maximum)

    @staticmethod
    def Max(*args):
        if len(args) == 2 and not all(sympy.sympify(a).is_number for a in args):
            a, b = args
            return relu(b) if _zero(a) else relu(a) if _zero(b) else maximum(a, b)
        return sympy.Max(*args)

    @staticmethod
    def Min(*args):
        if len(args) == 2 and not all(sympy.sympify(a).is_number for a in args):
            a, b = args
            return -relu(-b) if _zero(a) else -relu(-a) if _zero(b) else -maximum(-a, -b)
        return sympy.Min(*args)

    def __getattr__(self, name):
        return getattr(sympy, name)


SYMPY_NS = _SympyNamespace()


def sympy_namespace():
    """The namespace op definitions take first (the sympy module plus ``relu``)."""
    return SYMPY_NS


def op_definition(name: str, rule=None) -> Callable:
    """The SymPy definition ``(s, *inputs, *params)`` of an op: its registry row's ``sympy``."""
    if rule is None:
        rule = RULES.get(name)
    own = rule.systems.sympy if rule is not None else None
    if own is None:
        raise NoOracle(f"the op {name!r} has no SymPy definition in the registry")
    return own


def _namespace_rules() -> dict:
    """Every name a case may call on ``m`` (op name, Value method, expression aliases) -> its row."""
    table = {}
    for rule in RULES.values():
        if rule.spelling.operator is not None and rule.spelling.method is None:
            continue
        for key in (rule.name, rule.spelling.method, *rule.spelling.names):
            if key:
                table.setdefault(key, rule)
    return table


def exact_number(x) -> sympy.Expr:
    """A finite Python number as an exact SymPy number (floats by their binary value)."""
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, int):
        return sympy.Integer(x)
    x = float(x)
    return sympy.Integer(int(x)) if x.is_integer() else sympy.Rational(x)
