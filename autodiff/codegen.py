"""Registry rules as Python source: evaluate a rule on symbolic code values and read back the text.

``rule_code(ns, fn, args)`` calls a rule's forward or partial with ``m`` a namespace whose every
function ``m.f(...)`` becomes a call of the base namespace's ``f`` and whose values are snippets
of code with the arithmetic operators overloaded. The text does the same operations, in the same
order, as the rule itself, so code generated from it gives bit-identical results. Python's float
``+ - *`` are written inline (they never raise); division, powers and ``abs`` go through the
namespace. A rule that branches on a value in Python is called as it is. The engine's fast paths
and the compiled mode are both made this way, so neither restates a rule.

``engine_module()`` writes the engine's per-op code this way as the text of a module:
``autodiff/_generated.py``, checked in and rewritten by ``python -m autodiff.regenerate``.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from .rules import FLOAT, OPERATOR_METHODS, RULES

__all__ = ["COMMAND", "GENERATED", "Code", "CodeMath", "NotExpressible", "SourceMath", "engine_module", "rule_code"]


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


# -- the engine's generated module ----------------------------------------------------------------
GENERATED = Path(__file__).with_name("_generated.py")
COMMAND = "python -m autodiff.regenerate"
# The names the generated module leaves to autodiff.engine (bound when the engine installs it).
ENGINE_NAMES = ("Value", "_coerce", "VALUE_MATH", "_local_step")
_RESERVED = {"_new", "_coerce", "_local_step"}  # ``_<name>`` would be an op's float function: these are taken

# The three chain-rule loops: (function name, where gradients go, partials on Values, what it serves).
LOOPS = (("chain_rule_into_grad", "grad", False, "``backward``: floats into each input's ``.grad``"),
         ("chain_rule_floats", "dict", False, "``grad``: floats into the dict ``grads``"),
         ("chain_rule_values", "dict", True, "``grad(create_graph=True)``: Values into ``grads``"))


class SourceMath(CodeMath):
    """``m`` writing code for a module on disk: the base namespace's functions by name (``prefix`` +
    name), constants as literals, and a rule that branches in Python as a call of the rule itself
    (``reference``: how the module names the function being written)."""

    def __init__(self, prefix: str, base_name: str) -> None:
        super().__init__()
        self.prefix = prefix  # "_" for float functions bound at the module's top, "VALUE_MATH." for Values
        self.base_name = base_name  # the namespace a rule called as it is gets as its ``m``
        self.used: set[str] = set()  # functions the code calls (for float code: the module binds them)
        self.reference = ""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        target = getattr(FLOAT, name)  # the Value namespace has the same names as the float one
        if not callable(target):
            return target  # a constant such as m.inf
        if f"_{name}" in _RESERVED:
            raise ValueError(f"an op or helper named {name!r} would clash with a name of the generated module")

        def emit(*args):
            self.used.add(name)
            return Code(f"{self.prefix}{name}({', '.join(bare(self.source(a)) for a in args)})", self)
        emit.__name__ = name
        self.__dict__[name] = emit
        return emit

    def source(self, x) -> str:
        """Source text for a snippet or a number (non-finite floats as ``math.inf`` and ``math.nan``)."""
        if isinstance(x, Code):
            return x.src
        if x.__class__ is int or x.__class__ is bool:
            return repr(x)
        if isinstance(x, float):
            x = float(x)
            if math.isfinite(x):
                text = repr(x)
            else:
                self.used.add("math")
                text = "math.nan" if x != x else "-math.inf" if x < 0 else "math.inf"
            return f"({text})" if text.startswith("-") else text
        raise TypeError(f"a rule gave {x!r}, which generated code cannot spell (numbers and snippets only)")

    def call(self, fn, args) -> Code:
        """A call of the rule's own function (``self.reference``) on the base namespace."""
        if not self.reference:
            raise ValueError("no name for this rule's function in the generated module")
        return Code(f"{self.reference}({self.base_name}, {', '.join(bare(self.source(a)) for a in args)})", self)


def bare(src: str) -> str:
    """``src`` without a pair of parentheses around all of it (which a call's argument or the right
    side of an assignment does not need; the operations and their order stay as they are)."""
    if not (src.startswith("(") and src.endswith(")")):
        return src
    depth = 0
    for i, ch in enumerate(src):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return src[1:-1] if i == len(src) - 1 else src
    return src


def _row_name(rule) -> str:
    """The generated module's name for a row: ``_TANH``."""
    return f"_{rule.name.upper()}"


def _step_lines(rule, index: str, ns: SourceMath, into: str, on_values: bool) -> list[str]:
    """One op's local step for ``node`` with upstream gradient ``g``: each input gets ``g`` times
    its partial, added into its ``.grad`` (``into`` 'grad') or into ``grads`` ('dict')."""
    inputs = ["x", "y"][:rule.arity]
    params = ["c"] if rule.params else []
    names = ["z", *inputs, *params]
    codes = [Code(n, ns) for n in names]
    texts = []
    for i, p in enumerate(rule.partials):
        ns.reference = f"{index}.partials[{i}]"
        texts.append(ns.source(p if p.__class__ is float else rule_code(ns, p, codes)))
    used = set(re.findall(r"\b[a-z]\w*", " ".join(texts)))
    # Bind only what the partials read: x is a.data (a itself on Values), z the node's output.
    sources = {"z": "node" if on_values else "node.data", "x": "a" if on_values else "a.data",
               "y": "b" if on_values else "b.data", "c": "b"}
    lines = ["a = node._a"]
    if rule.arity == 2 or params:
        lines.append("b = node._b")
    lines += [f"{n} = {sources[n]}" for n in names if n in used]
    for target, text in zip(["a", "b"], texts):
        # g * 1.0 is g and g * -1.0 is -g, bit for bit (nan, inf and -0.0 included): skip the product.
        text = {"1.0": "g", "(-1.0)": "-g"}.get(text, f"g * {text}")
        if into == "grad":
            lines.append(f"{target}.grad += {text}")
        else:
            lines += [f"d = {text}", f"old = grads.get({target})", f"grads[{target}] = d if old is None else old + d"]
    return lines


def _loop_source(name: str, into: str, on_values: bool, doc: str, ns: SourceMath) -> list[str]:
    """The chain rule, once: output first, each node's local step written inline, found by its row."""
    upstream = "g = node.grad" if into == "grad" else "g = grads[node]"
    lines = [f"def {name}(order: list[Value], grads: dict | None) -> None:",
             f'    """The chain rule for {doc}.',
             "",
             "    ``order`` lists the op nodes, each after its inputs; each node's local step runs output first.",
             '    """',
             "    for node in reversed(order):",
             "        rule = node._rule",
             f"        {upstream}"]
    for k, rule in enumerate(RULES.values()):
        lines.append(f"        {'if' if k == 0 else 'elif'} rule is {_row_name(rule)}:")
        body = _step_lines(rule, "rule", ns, into, on_values)
        lines += [f"            {line}" for line in body]
    lines += ["        else:  # a row replaced since this node was made: its step as the registry has it now",
              f"            _local_step(node, grads, {on_values})"]
    return lines


def _spelled(rule, inputs: list[str], params: list[str]) -> str:
    """How the method's node reads in Python: ``self + other``, ``-self``, ``tanh(self)``."""
    op = rule.spelling.operator
    if op == "neg":
        return "-self"
    if op:
        return f"self {op} {inputs[1] if rule.arity == 2 else params[0]}"
    return f"{rule.spelling.method}({', '.join(inputs + params)})"


def _method_source(rule, ns: SourceMath) -> list[str]:
    """The method of ``ValueOps`` that makes a node of ``rule``, its forward written on floats (plus
    the reflected operator and an alias where the row has them)."""
    inputs = ["self", "other"][:rule.arity]
    params = list(rule.params)
    operand = "other: Value | float"
    if rule.spelling.operator == "neg":
        name, signature = "__neg__", ["self"]
    elif rule.spelling.operator and not params:
        name = OPERATOR_METHODS[rule.spelling.operator][0]
        name = "_pow_values" if name == "__pow__" else name  # Value.__pow__ picks pow or powc by the exponent
        signature = ["self", operand]
    elif rule.spelling.operator:
        name, params = f"_{rule.name}", ["c"]
        signature = ["self", "c: float"]
    else:
        defaults = dict(zip(rule.params[len(rule.params) - len(rule.defaults):], rule.defaults))
        name = rule.spelling.method
        signature = ["self", *([operand] if rule.arity == 2 else []),
                     *(f"{p}: float = {defaults[p]!r}" if p in defaults else f"{p}: float" for p in params)]
    data = [Code(f"{v}.data", ns) for v in inputs] + [Code(p, ns) for p in params]
    ns.reference = f"{_row_name(rule)}.forward"
    forward = bare(ns.source(rule_code(ns, rule.forward, data)))
    lines = [f"def {name}({', '.join(signature)}) -> Value:",
             f'    """{_spelled(rule, inputs, params)}: a new node of the row ``{rule.name}``."""']
    if rule.arity == 2:
        lines += ["    if other.__class__ is not Value:",
                  "        other = _coerce(other)",
                  "        if other is None:",
                  "            return NotImplemented"]
    lines += [f"    {p} = float({p})" for p in params]
    lines += ["    out = _new(Value)",
              f"    out.data = {forward}",
              "    out.grad = 0.0",
              '    out.label = ""',
              "    out._a = self",
              f"    out._b = {'other' if rule.arity == 2 else (params[0] if params else 'None')}",
              f"    out._rule = {_row_name(rule)}",
              "    return out"]
    if rule.spelling.operator not in (None, "neg", "**") and not rule.params:
        reflected = OPERATOR_METHODS[rule.spelling.operator][1]
        lines += ["",
                  f"def {reflected}(self, other: float) -> Value:",
                  f'    """other {rule.spelling.operator} self, for a number on the left."""',
                  "    other = _coerce(other)",
                  f"    return NotImplemented if other is None else other {rule.spelling.operator} self"]
    if rule.spelling.method and rule.spelling.method != name:
        lines += ["", f"{rule.spelling.method} = {name}"]
    return lines


def _mul_add_source(ns: SourceMath) -> list[str]:
    """``acc + w * x`` in one call: a neuron's weighted sum, the mul and add nodes as their methods make them."""
    mul, add = RULES["mul"], RULES["add"]
    ns.reference = "_MUL.forward"
    product = bare(ns.source(rule_code(ns, mul.forward, [Code("w.data", ns), Code("x.data", ns)])))
    ns.reference = "_ADD.forward"
    total = bare(ns.source(rule_code(ns, add.forward, [Code("acc.data", ns), Code("mul.data", ns)])))
    return ["@staticmethod",
            "def _mul_add(acc: Value, w: Value, x: Value) -> Value:",
            '    """acc + w * x for three Values in one call (one Python call instead of two); anything but',
            '    three plain Values takes the operators."""',
            "    if x.__class__ is not Value or w.__class__ is not Value or acc.__class__ is not Value:",
            "        return acc + w * x",
            "    mul = _new(Value)",
            f"    mul.data = {product}",
            "    mul.grad = 0.0",
            '    mul.label = ""',
            "    mul._a = w",
            "    mul._b = x",
            "    mul._rule = _MUL",
            "    out = _new(Value)",
            f"    out.data = {total}",
            "    out.grad = 0.0",
            '    out.label = ""',
            "    out._a = acc",
            "    out._b = mul",
            "    out._rule = _ADD",
            "    return out"]


_HEADER = '''\
"""Generated from rules.py — do not edit; regenerate with `{command}`.

Each registry row written out as code: ``ValueOps``, the op methods ``Value`` inherits (each makes
one node with the row's forward), and the chain-rule loops with every row's local step inline
(one loop per mode: floats into ``.grad``, floats into a dict, Values into a dict). The code is the
rows' own forward and partials evaluated on snippets of source (``autodiff.codegen``), so it does
their arithmetic operation for operation. ``autodiff.engine`` imports this module and binds the
names below that are its own; under ``rules.override`` it runs this text regenerated in memory.
"""
from __future__ import annotations
'''


def engine_module() -> str:
    """The source of ``autodiff/_generated.py`` for the registry as it is now."""
    floats = SourceMath("_", "FLOAT")
    values = SourceMath("VALUE_MATH.", "VALUE_MATH")
    methods = []
    for rule in RULES.values():
        methods += ["", *_method_source(rule, floats)]
    if "mul" in RULES and "add" in RULES:
        methods += ["", *_mul_add_source(floats)]
    loops = []
    for name, into, on_values, doc in LOOPS:
        loops += ["", "", *_loop_source(name, into, on_values, doc, values if on_values else floats)]
    rows = [f'{_row_name(rule)} = RULES.get("{rule.name}")' for rule in RULES.values()]
    if len(set(rows)) != len(rows):
        raise ValueError("two rows with the same name in upper case")
    used = floats.used | values.used
    lines = [_HEADER.format(command=COMMAND).rstrip("\n"), ""]
    if "math" in used:
        lines += ["import math", ""]
    lines += ["from .rules import FLOAT, RULES",
              "",
              "# autodiff.engine's own names, bound by it when it installs this code (the engine imports this",
              "# module; importing it back would be a cycle).",
              f"{' = '.join(ENGINE_NAMES)} = None",
              "_new = object.__new__",
              "",
              "# The rows this code is written from, and their functions on floats (IEEE results where Python's",
              "# math would raise) with the helpers. A row removed since gives None: the engine then runs this",
              f"# code regenerated in memory, and `{COMMAND}` still runs.",
              *rows,
              "ROWS = {",
              *(f'    "{rule.name}": {_row_name(rule)},' for rule in RULES.values()),
              "}",
              "",
              *(f'_{name} = getattr(FLOAT, "{name}", None)' for name in sorted(floats.used - {"math"})),
              "",
              "",
              "class ValueOps:",
              '    """Value\'s op methods: the operators and functions of every row, each making one node."""',
              "",
              "    __slots__ = ()",
              *(f"    {line}" if line else "" for line in methods),
              *loops]
    return "\n".join(lines) + "\n"
