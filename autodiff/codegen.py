"""Registry rules as Python source: evaluate a rule on symbolic code values and read back the text.

``rule_code(fn, names)`` calls a rule's forward or partial with ``m`` a namespace whose every
function ``m.f(...)`` becomes the text ``m_f(...)`` and whose values are code strings with the
arithmetic operators overloaded. The text does the same float operations, in the same order,
as the rule itself, so code generated from it gives bit-identical results; the engine's fast
paths and the compiled mode are both made this way, so neither restates a rule.
"""
from __future__ import annotations

from collections.abc import Callable

__all__ = ["Code", "CodeMath", "NotExpressible", "rule_code", "text_of"]


class NotExpressible(Exception):
    """The rule does something with its arguments that straight-line code cannot say (a Python branch)."""


class Code:
    """A piece of Python source standing for a value."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __bool__(self):
        raise NotExpressible("a rule branches on its arguments")

    def __lt__(self, other):
        raise NotExpressible("a rule compares its arguments")

    __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __lt__
    __hash__ = object.__hash__

    def __float__(self):
        raise NotExpressible("a rule converts its arguments")

    def __neg__(self) -> Code:
        return Code(f"(-{self.text})")

    def __pos__(self) -> Code:
        return self


def text_of(x) -> str:
    """Source text of a code value or a Python number."""
    if isinstance(x, Code):
        return x.text
    if isinstance(x, (int, float)):
        return repr(x) if x == x and x not in (float("inf"), float("-inf")) else f"float({str(x)!r})"
    raise NotExpressible(f"a rule uses a {type(x).__name__}")


def _binary(symbol: str):
    def forward(self, other):
        return Code(f"({self.text} {symbol} {text_of(other)})")

    def reflected(self, other):
        return Code(f"({text_of(other)} {symbol} {self.text})")

    return forward, reflected


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**")):
    _f, _r = _binary(_symbol)
    setattr(Code, f"__{_name}__", _f)
    setattr(Code, f"__r{_name}__", _r)


class CodeMath:
    """The namespace ``m`` for code: ``m.tanh(x)`` is the text ``m_tanh(x)``."""

    def __getattr__(self, name: str) -> Callable[..., Code]:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args: Code(f"m_{name}({', '.join(text_of(a) for a in args)})")


CODE = CodeMath()


def rule_code(fn: Callable | float, *names: str) -> str:
    """The source of ``fn(m, *names)`` (a number stays a number); NotExpressible if it cannot be written out."""
    if isinstance(fn, (int, float)):
        return text_of(float(fn))
    out = fn(CODE, *[Code(n) for n in names])
    return text_of(out)
