"""The safe parser: expression text -> a Case, through Python's ``ast`` and a whitelist.

Allowed: numbers, variable names, ``+ - * / **``, unary ``-``/``+``, parentheses and
calls of the primitive functions. Nothing is evaluated while parsing except constant
exponents (in floats, to bound them); no ``eval``, ``exec`` or ``sympify`` is involved.
"""
from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable

from autodiff.rules import FLOAT, RULES
from reference.corpus.cases import Case, Point

MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_EXPONENT = 1000.0
MAX_VARIABLES = 50
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
# Every name a function-style registry row answers to (aliases such as ln and max included).
FUNCTION_NAMES = {alias: rule for rule in RULES.values() if rule.spelling.method
                  for alias in (rule.name, *rule.spelling.names)}


class ExpressionError(ValueError):
    """The text is not an expression this suite accepts; the message is one line."""


_BINARY: dict[type, tuple[str, Callable]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
}
# Between two plain numbers Python would raise (1/0, (-1)**0.5 gives complex): use IEEE rules.
_CONSTANT_FOLD = {ast.Div: FLOAT.div, ast.Pow: FLOAT.pow}


def _is_number(x) -> bool:
    return isinstance(x, (int, float))


def _column(node: ast.AST) -> str:
    return f" at column {node.col_offset + 1}" if hasattr(node, "col_offset") else ""


def _precheck(text: str) -> str:
    if not isinstance(text, str):
        raise ExpressionError("the expression must be text")
    text = text.strip()
    if not text:
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch in " \t")):
            raise ExpressionError(f"character {ch!r} at column {i + 1} is not allowed (plain ASCII only)")
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"parentheses nest deeper than {MAX_DEPTH} (column {i + 1})")
    return text


class _Checker:
    """Walks the tree once: rejects anything off the whitelist, collects variables."""

    def __init__(self) -> None:
        self.variables: list[str] = []

    def check(self, node: ast.AST, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Expression):
            return self.check(node.body, depth + 1)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise ExpressionError(f"operator {type(node.op).__name__}{_column(node)} is not allowed; "
                                      "use + - * / **")
            self.check(node.left, depth + 1)
            self.check(node.right, depth + 1)
            if isinstance(node.op, ast.Pow) and not _has_name(node.right):
                exponent = _constant_value(node.right)
                if not abs(exponent) <= MAX_EXPONENT:
                    raise ExpressionError(f"exponent {exponent:g}{_column(node.right)} is too large "
                                          f"(the limit is {MAX_EXPONENT:g})")
            return None
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ExpressionError(f"operator {type(node.op).__name__}{_column(node)} is not allowed")
            return self.check(node.operand, depth + 1)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            rule = FUNCTION_NAMES.get(name)
            if rule is None:
                if isinstance(node.func, ast.Attribute) and node.func.attr in FUNCTION_NAMES:
                    call = f"{node.func.attr}({ast.unparse(node.func.value)[:30]})"
                    raise ExpressionError(f"method calls are not allowed{_column(node)}; write {call}")
                what = name or ast.unparse(node.func)[:40]
                close = difflib.get_close_matches((name or "").lower(), FUNCTION_NAMES, n=2)
                hint = f"; did you mean {' or '.join(close)}?" if close else f"; allowed: {', '.join(FUNCTION_NAMES)}"
                raise ExpressionError(f"{what!r}{_column(node)} is not a function here{hint}")
            least, most = rule.arity + len(rule.params) - len(rule.defaults), rule.arity + len(rule.params)
            if node.keywords or not least <= len(node.args) <= most or any(
                    isinstance(a, ast.Starred) for a in node.args):
                count = f"{least}" if least == most else f"{least} to {most}"
                raise ExpressionError(f"{name}(){_column(node)} takes {count} argument(s)")
            for i, arg in enumerate(node.args):
                if i >= rule.arity and _has_name(arg):
                    raise ExpressionError(f"{name}(): its {rule.params[i - rule.arity]}{_column(arg)} must be a number")
                self.check(arg, depth + 1)
            return None
        if isinstance(node, ast.Name):
            name = node.id
            if name in FUNCTION_NAMES:
                raise ExpressionError(f"{name!r}{_column(node)} is a function; call it as {name}(...)")
            if not _NAME.fullmatch(name):
                raise ExpressionError(f"{name!r}{_column(node)} is not allowed as a variable name "
                                      "(letters, digits and _, starting with a letter, at most 32)")
            if name not in self.variables:
                if len(self.variables) >= MAX_VARIABLES:
                    raise ExpressionError(f"more than {MAX_VARIABLES} variables")
                self.variables.append(name)
            return None
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ExpressionError(f"{value!r}{_column(node)} is not a number")
            if isinstance(value, int) and abs(value) > 2 ** 1023:
                raise ExpressionError(f"the number at column {node.col_offset + 1} is too large for a double")
            return None
        raise ExpressionError(f"{type(node).__name__}{_column(node)} is not allowed in an expression "
                              "(only numbers, names, + - * / **, parentheses and function calls)")


def _has_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _constant_value(node: ast.AST) -> float:
    """A checked constant subtree evaluated in IEEE floats (never raises, never hangs)."""
    return float(_compile(node)(FLOAT, {}))


def _compile(node: ast.AST) -> Callable:
    """A checked tree as a function of (math namespace, {variable: value})."""
    if isinstance(node, ast.Expression):
        return _compile(node.body)
    if isinstance(node, ast.BinOp):
        left, right = _compile(node.left), _compile(node.right)
        op = _BINARY[type(node.op)][1]
        fold = _CONSTANT_FOLD.get(type(node.op), op)

        def binary(m, env):
            a, b = left(m, env), right(m, env)
            return fold(float(a), float(b)) if _is_number(a) and _is_number(b) else op(a, b)
        return binary
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return lambda m, env: -operand(m, env)
    if isinstance(node, ast.Call):
        args, name = [_compile(a) for a in node.args], FUNCTION_NAMES[node.func.id].name
        return lambda m, env: getattr(m, name)(*[a(m, env) for a in args])
    if isinstance(node, ast.Name):
        name = node.id
        return lambda m, env: env[name]
    value = node.value
    return lambda m, env: value


def parse(text: str) -> tuple[list[str], Callable]:
    """(variables in order of appearance, f(m, **values)) for a checked expression."""
    text = _precheck(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise ExpressionError(f"not a valid expression: {err.msg}{where}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is too deeply nested to parse") from None
    checker = _Checker()
    checker.check(tree)
    return checker.variables, _compile(tree)


def to_case(text: str, at: dict[str, float]) -> Case:
    """A one-point Case from expression text and the values of its variables."""
    variables, compiled = parse(text)
    missing = [v for v in variables if v not in at]
    extra = [v for v in at if v not in variables]
    if missing:
        also = f"; {', '.join(extra)} is not in the expression" if extra else ""
        raise ExpressionError(f"no value given for {', '.join(missing)} (use --at {missing[0]}=...){also}")
    if extra:
        raise ExpressionError(f"{', '.join(extra)} does not appear in the expression (its variables: "
                              f"{', '.join(variables) or 'none'})")

    def fn(m, *values):
        return compiled(m, dict(zip(variables, values)))

    point = Point(tuple(float(at[v]) for v in variables))
    return Case(text.strip(), fn, tuple(variables), (point,), frozenset({"expression"}))


def parse_point(text: str) -> dict[str, float]:
    """``x=0.5,y=-1`` -> {'x': 0.5, 'y': -1.0}, with a one-line error for anything else."""
    point: dict[str, float] = {}
    if not text or not text.strip():
        raise ExpressionError("--at needs values, such as --at x=0.5,y=-1")
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _NAME.fullmatch(name):
            raise ExpressionError(f"--at: {part.strip()!r} is not NAME=NUMBER")
        try:
            number = float(value)
        except ValueError:
            raise ExpressionError(f"--at: {value!r} is not a number (for {name})") from None
        if name in point:
            raise ExpressionError(f"--at: {name} is given twice")
        point[name] = number
    return point


__all__ = ["MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "ExpressionError", "parse", "parse_point", "to_case"]
