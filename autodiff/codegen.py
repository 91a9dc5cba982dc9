"""Registry rules as Python source: evaluate a rule on symbolic code values and read back the text.

``rule_code(ns, fn, args)`` calls a rule's forward or partial with ``m`` a namespace whose every
function ``m.f(...)`` becomes a call of the base namespace's ``f`` and whose values are snippets
of code with the arithmetic operators overloaded. The text does the same operations, in the same
order, as the rule itself, so code generated from it gives bit-identical results. Python's float
``+ - *`` are written inline (they never raise); division, powers and ``abs`` go through the
namespace. A rule that branches on a value in Python is called as it is. The engine's fast paths
and the compiled mode are both made this way, so neither restates a rule.
"""
from __future__ import annotations

import math

from .rules import FLOAT

__all__ = ["Code", "CodeMath", "NotExpressible", "rule_code"]


class NotExpressible(Exception):
    """A rule asked a snippet of code for a truth value: it branches in Python."""


class Code:
    """A snippet of Python source that evaluates to a float (or an array, in the batch program)."""

    __slots__ = ("ns", "src")

    def __init__(self, src: str, ns: CodeMath) -> None:
        self.src = src
        self.ns = ns

    def _op(self, other, symbol: str, reverse: bool = False) -> Code:
        other = self.ns.source(other)
        return Code(f"({other} {symbol} {self.src})" if reverse else f"({self.src} {symbol} {other})", self.ns)

    def __add__(self, other):
        return self._op(other, "+")

    def __radd__(self, other):
        return self._op(other, "+", True)

    def __sub__(self, other):
        return self._op(other, "-")

    def __rsub__(self, other):
        return self._op(other, "-", True)

    def __mul__(self, other):
        return self._op(other, "*")

    def __rmul__(self, other):
        return self._op(other, "*", True)

    def __truediv__(self, other):  # Python raises on x / 0: IEEE division through the namespace
        return self.ns.div(self, other)

    def __rtruediv__(self, other):
        return self.ns.div(other, self)

    def __pow__(self, other):
        return self.ns.pow(self, other)

    def __rpow__(self, other):
        return self.ns.pow(other, self)

    def __neg__(self):
        return Code(f"(-{self.src})", self.ns)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.ns.abs(self)

    def __bool__(self):
        raise NotExpressible

    def _compare(self, other):
        raise NotExpressible

    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _compare
    __hash__ = None
    __float__ = __int__ = __index__ = __bool__


class CodeMath:
    """The namespace ``m`` whose functions write code: ``m.tanh(x)`` -> ``"_m_tanh(x)"``.

    The code calls ``base``'s functions (``FLOAT`` for floats, the engine's Value namespace for
    graphs); ``impl(name, function)`` may give another callable to bind in its place (an array
    function for the batch program). Everything the code names is in ``globals``.
    """

    def __init__(self, base=FLOAT, impl=None, arrays: bool = False) -> None:
        self._base = base
        self._impl = impl or (lambda name, fn: fn)
        self.arrays = arrays  # numbers become arrays of the batch's length, given per call
        self.globals: dict[str, object] = {}
        self.constants: list = []  # the numbers behind _c0, _c1, ... (arrays mode)
        self._literals: dict = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        target = getattr(self._base, name)  # an op's function must exist: AttributeError otherwise
        if not callable(target):
            return target  # a constant such as m.inf: a number, written as a literal where used
        key = f"_m_{name}"
        if key not in self.globals:
            self.globals[key] = self._impl(name, target)

        def emit(*args):
            return Code(f"{key}({', '.join(self.source(a) for a in args)})", self)
        emit.__name__ = name
        self.__dict__[name] = emit  # resolved once per namespace
        return emit

    def source(self, x) -> str:
        """Source text for a snippet or a constant (a number is written exactly, or bound by name)."""
        if isinstance(x, Code):
            return x.src
        if self.arrays and x.__class__ in (float, int, bool):
            # An array operand costs NumPy half what a Python number does (no scalar conversion).
            key = (float, repr(float(x)))
            name = self._literals.get(key)
            if name is None:
                name = self._literals[key] = f"_c{len(self.constants)}"
                self.constants.append(float(x))
            return name
        if x.__class__ is int or x.__class__ is bool:
            return repr(x)
        if x.__class__ is float and math.isfinite(x):
            text = repr(x)
            return f"({text})" if text.startswith("-") else text
        key = (x.__class__, repr(x))
        name = self._literals.get(key)
        if name is None:
            name = self._literals[key] = f"_k{len(self._literals)}"
            self.globals[name] = x
        return name

    def call(self, fn, args) -> Code:
        """A call of a rule's own function on the base namespace (for rules that branch in Python)."""
        key = f"_r{len(self.globals)}"
        self.globals[key] = self._impl(None, fn)
        self.globals.setdefault("_M", self._base)
        return Code(f"{key}(_M, {', '.join(self.source(a) for a in args)})", self)


def rule_code(ns: CodeMath, fn, args):
    """``fn(m, *args)`` written by the rule itself on snippets (or a call of it): a snippet or a number."""
    try:
        return fn(ns, *args)
    except NotExpressible:
        return ns.call(fn, args)
