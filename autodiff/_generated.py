"""Generated from rules.py — do not edit; regenerate with `python -m autodiff.regenerate`.

Each registry row written out as code: ``ValueOps``, the op methods ``Value`` inherits (each makes
one node with the row's forward), and the chain-rule loops with every row's local step inline
(one loop per mode: floats into ``.grad``, floats into a dict, Values into a dict). The code is the
rows' own forward and partials evaluated on snippets of source (``autodiff.codegen``), so it does
their arithmetic operation for operation. ``autodiff.engine`` imports this module and binds the
names below that are its own; under ``rules.override`` it runs this text regenerated in memory.
"""
from __future__ import annotations

from .rules import FLOAT, RULES

# autodiff.engine's own names, bound by it when it installs this code (the engine imports this
# module; importing it back would be a cycle).
Value = _coerce = VALUE_MATH = _local_step = None
_new = object.__new__

# The rows this code is written from, and their functions on floats (IEEE results where Python's
# math would raise) with the helpers. A row removed since gives None: the engine then runs this
# code regenerated in memory, and `python -m autodiff.regenerate` still runs.
_ADD = RULES.get("add")
_SUB = RULES.get("sub")
_MUL = RULES.get("mul")
_DIV = RULES.get("div")
_NEG = RULES.get("neg")
_POWC = RULES.get("powc")
_POW = RULES.get("pow")
_EXP = RULES.get("exp")
_LOG = RULES.get("log")
_TANH = RULES.get("tanh")
_SIGMOID = RULES.get("sigmoid")
_RELU = RULES.get("relu")
_SIN = RULES.get("sin")
_COS = RULES.get("cos")
_SQRT = RULES.get("sqrt")
_ABS = RULES.get("abs")
_TAN = RULES.get("tan")
_ATAN = RULES.get("atan")
_LOG1P = RULES.get("log1p")
_SOFTPLUS = RULES.get("softplus")
_LEAKY_RELU = RULES.get("leaky_relu")
_MAXIMUM = RULES.get("maximum")
_SINH = RULES.get("sinh")
_COSH = RULES.get("cosh")
_ERF = RULES.get("erf")
ROWS = {
    "add": _ADD,
    "sub": _SUB,
    "mul": _MUL,
    "div": _DIV,
    "neg": _NEG,
    "powc": _POWC,
    "pow": _POW,
    "exp": _EXP,
    "log": _LOG,
    "tanh": _TANH,
    "sigmoid": _SIGMOID,
    "relu": _RELU,
    "sin": _SIN,
    "cos": _COS,
    "sqrt": _SQRT,
    "abs": _ABS,
    "tan": _TAN,
    "atan": _ATAN,
    "log1p": _LOG1P,
    "softplus": _SOFTPLUS,
    "leaky_relu": _LEAKY_RELU,
    "maximum": _MAXIMUM,
    "sinh": _SINH,
    "cosh": _COSH,
    "erf": _ERF,
}

_abs = getattr(FLOAT, "abs", None)
_atan = getattr(FLOAT, "atan", None)
_cos = getattr(FLOAT, "cos", None)
_cosh = getattr(FLOAT, "cosh", None)
_div = getattr(FLOAT, "div", None)
_erf = getattr(FLOAT, "erf", None)
_exp = getattr(FLOAT, "exp", None)
_heaviside = getattr(FLOAT, "heaviside", None)
_leaky_relu = getattr(FLOAT, "leaky_relu", None)
_log = getattr(FLOAT, "log", None)
_log1p = getattr(FLOAT, "log1p", None)
_maximum = getattr(FLOAT, "maximum", None)
_mul0 = getattr(FLOAT, "mul0", None)
_pow = getattr(FLOAT, "pow", None)
_relu = getattr(FLOAT, "relu", None)
_sigmoid = getattr(FLOAT, "sigmoid", None)
_sign = getattr(FLOAT, "sign", None)
_sin = getattr(FLOAT, "sin", None)
_sinh = getattr(FLOAT, "sinh", None)
_softplus = getattr(FLOAT, "softplus", None)
_sqrt = getattr(FLOAT, "sqrt", None)
_tan = getattr(FLOAT, "tan", None)
_tanh = getattr(FLOAT, "tanh", None)
_where = getattr(FLOAT, "where", None)


class ValueOps:
    """Value's op methods: the operators and functions of every row, each making one node."""

    __slots__ = ()

    def __add__(self, other: Value | float) -> Value:
        """self + other: a new node of the row ``add``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _ADD
        return out

    def __radd__(self, other: float) -> Value:
        """other + self, for a number on the left."""
        other = _coerce(other)
        return NotImplemented if other is None else other + self

    def __sub__(self, other: Value | float) -> Value:
        """self - other: a new node of the row ``sub``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = self.data - other.data
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _SUB
        return out

    def __rsub__(self, other: float) -> Value:
        """other - self, for a number on the left."""
        other = _coerce(other)
        return NotImplemented if other is None else other - self

    def __mul__(self, other: Value | float) -> Value:
        """self * other: a new node of the row ``mul``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = self.data * other.data
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _MUL
        return out

    def __rmul__(self, other: float) -> Value:
        """other * self, for a number on the left."""
        other = _coerce(other)
        return NotImplemented if other is None else other * self

    def __truediv__(self, other: Value | float) -> Value:
        """self / other: a new node of the row ``div``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = _div(self.data, other.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _DIV
        return out

    def __rtruediv__(self, other: float) -> Value:
        """other / self, for a number on the left."""
        other = _coerce(other)
        return NotImplemented if other is None else other / self

    def __neg__(self) -> Value:
        """-self: a new node of the row ``neg``."""
        out = _new(Value)
        out.data = -self.data
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _NEG
        return out

    def _powc(self, c: float) -> Value:
        """self ** c: a new node of the row ``powc``."""
        c = float(c)
        out = _new(Value)
        out.data = _pow(self.data, c)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = c
        out._rule = _POWC
        return out

    def _pow_values(self, other: Value | float) -> Value:
        """self ** other: a new node of the row ``pow``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = _pow(self.data, other.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _POW
        return out

    def exp(self) -> Value:
        """exp(self): a new node of the row ``exp``."""
        out = _new(Value)
        out.data = _exp(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _EXP
        return out

    def log(self) -> Value:
        """log(self): a new node of the row ``log``."""
        out = _new(Value)
        out.data = _log(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _LOG
        return out

    def tanh(self) -> Value:
        """tanh(self): a new node of the row ``tanh``."""
        out = _new(Value)
        out.data = _tanh(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _TANH
        return out

    def sigmoid(self) -> Value:
        """sigmoid(self): a new node of the row ``sigmoid``."""
        out = _new(Value)
        out.data = _sigmoid(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _SIGMOID
        return out

    def relu(self) -> Value:
        """relu(self): a new node of the row ``relu``."""
        out = _new(Value)
        out.data = _relu(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _RELU
        return out

    def sin(self) -> Value:
        """sin(self): a new node of the row ``sin``."""
        out = _new(Value)
        out.data = _sin(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _SIN
        return out

    def cos(self) -> Value:
        """cos(self): a new node of the row ``cos``."""
        out = _new(Value)
        out.data = _cos(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _COS
        return out

    def sqrt(self) -> Value:
        """sqrt(self): a new node of the row ``sqrt``."""
        out = _new(Value)
        out.data = _sqrt(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _SQRT
        return out

    def abs(self) -> Value:
        """abs(self): a new node of the row ``abs``."""
        out = _new(Value)
        out.data = _abs(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _ABS
        return out

    def tan(self) -> Value:
        """tan(self): a new node of the row ``tan``."""
        out = _new(Value)
        out.data = _tan(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _TAN
        return out

    def atan(self) -> Value:
        """atan(self): a new node of the row ``atan``."""
        out = _new(Value)
        out.data = _atan(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _ATAN
        return out

    def log1p(self) -> Value:
        """log1p(self): a new node of the row ``log1p``."""
        out = _new(Value)
        out.data = _log1p(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _LOG1P
        return out

    def softplus(self) -> Value:
        """softplus(self): a new node of the row ``softplus``."""
        out = _new(Value)
        out.data = _softplus(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _SOFTPLUS
        return out

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """leaky_relu(self, slope): a new node of the row ``leaky_relu``."""
        slope = float(slope)
        out = _new(Value)
        out.data = _leaky_relu(self.data, slope)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = slope
        out._rule = _LEAKY_RELU
        return out

    def maximum(self, other: Value | float) -> Value:
        """maximum(self, other): a new node of the row ``maximum``."""
        if other.__class__ is not Value:
            other = _coerce(other)
            if other is None:
                return NotImplemented
        out = _new(Value)
        out.data = _maximum(self.data, other.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = other
        out._rule = _MAXIMUM
        return out

    def sinh(self) -> Value:
        """sinh(self): a new node of the row ``sinh``."""
        out = _new(Value)
        out.data = _sinh(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _SINH
        return out

    def cosh(self) -> Value:
        """cosh(self): a new node of the row ``cosh``."""
        out = _new(Value)
        out.data = _cosh(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _COSH
        return out

    def erf(self) -> Value:
        """erf(self): a new node of the row ``erf``."""
        out = _new(Value)
        out.data = _erf(self.data)
        out.grad = 0.0
        out.label = ""
        out._a = self
        out._b = None
        out._rule = _ERF
        return out

    @staticmethod
    def _mul_add(acc: Value, w: Value, x: Value) -> Value:
        """acc + w * x for three Values in one call (one Python call instead of two); anything but
        three plain Values takes the operators."""
        if x.__class__ is not Value or w.__class__ is not Value or acc.__class__ is not Value:
            return acc + w * x
        mul = _new(Value)
        mul.data = w.data * x.data
        mul.grad = 0.0
        mul.label = ""
        mul._a = w
        mul._b = x
        mul._rule = _MUL
        out = _new(Value)
        out.data = acc.data + mul.data
        out.grad = 0.0
        out.label = ""
        out._a = acc
        out._b = mul
        out._rule = _ADD
        return out


def chain_rule_into_grad(order: list[Value], grads: dict | None) -> None:
    """The chain rule for ``backward``: floats into each input's ``.grad``.

    ``order`` lists the op nodes, each after its inputs; each node's local step runs output first.
    """
    for node in reversed(order):
        rule = node._rule
        g = node.grad
        if rule is _ADD:
            a = node._a
            b = node._b
            a.grad += g
            b.grad += g
        elif rule is _SUB:
            a = node._a
            b = node._b
            a.grad += g
            b.grad += -g
        elif rule is _MUL:
            a = node._a
            b = node._b
            x = a.data
            y = b.data
            a.grad += g * y
            b.grad += g * x
        elif rule is _DIV:
            a = node._a
            b = node._b
            z = node.data
            y = b.data
            a.grad += g * _div(1.0, y)
            b.grad += g * _div(-z, y)
        elif rule is _NEG:
            a = node._a
            a.grad += -g
        elif rule is _POWC:
            a = node._a
            b = node._b
            x = a.data
            c = b
            a.grad += g * _mul0(c, _pow(x, c - 1))
        elif rule is _POW:
            a = node._a
            b = node._b
            z = node.data
            x = a.data
            y = b.data
            a.grad += g * _mul0(y, _pow(x, y - 1))
            b.grad += g * _where(_abs(x), z * _log(x), _mul0(z, _log(x)))
        elif rule is _EXP:
            a = node._a
            z = node.data
            a.grad += g * z
        elif rule is _LOG:
            a = node._a
            x = a.data
            a.grad += g * _div(1.0, x)
        elif rule is _TANH:
            a = node._a
            z = node.data
            a.grad += g * (1.0 - (z * z))
        elif rule is _SIGMOID:
            a = node._a
            z = node.data
            a.grad += g * (z * (1.0 - z))
        elif rule is _RELU:
            a = node._a
            x = a.data
            a.grad += g * _heaviside(x, 0.0)
        elif rule is _SIN:
            a = node._a
            x = a.data
            a.grad += g * _cos(x)
        elif rule is _COS:
            a = node._a
            x = a.data
            a.grad += g * (-_sin(x))
        elif rule is _SQRT:
            a = node._a
            z = node.data
            a.grad += g * _div(0.5, z)
        elif rule is _ABS:
            a = node._a
            x = a.data
            a.grad += g * _sign(x)
        elif rule is _TAN:
            a = node._a
            z = node.data
            a.grad += g * (1.0 + (z * z))
        elif rule is _ATAN:
            a = node._a
            x = a.data
            a.grad += g * _div(1.0, 1.0 + (x * x))
        elif rule is _LOG1P:
            a = node._a
            x = a.data
            a.grad += g * _div(1.0, 1.0 + x)
        elif rule is _SOFTPLUS:
            a = node._a
            x = a.data
            a.grad += g * _sigmoid(x)
        elif rule is _LEAKY_RELU:
            a = node._a
            b = node._b
            x = a.data
            c = b
            a.grad += g * _where(x, 1.0, c)
        elif rule is _MAXIMUM:
            a = node._a
            b = node._b
            x = a.data
            y = b.data
            a.grad += g * _heaviside(x - y, 0.5)
            b.grad += g * _heaviside(y - x, 0.5)
        elif rule is _SINH:
            a = node._a
            x = a.data
            a.grad += g * _cosh(x)
        elif rule is _COSH:
            a = node._a
            x = a.data
            a.grad += g * _sinh(x)
        elif rule is _ERF:
            a = node._a
            x = a.data
            a.grad += g * (_div(2, _sqrt(4 * _atan(1))) * _exp(-(x * x)))
        else:  # a row replaced since this node was made: its step as the registry has it now
            _local_step(node, grads, False)


def chain_rule_floats(order: list[Value], grads: dict | None) -> None:
    """The chain rule for ``grad``: floats into the dict ``grads``.

    ``order`` lists the op nodes, each after its inputs; each node's local step runs output first.
    """
    for node in reversed(order):
        rule = node._rule
        g = grads[node]
        if rule is _ADD:
            a = node._a
            b = node._b
            d = g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _SUB:
            a = node._a
            b = node._b
            d = g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = -g
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _MUL:
            a = node._a
            b = node._b
            x = a.data
            y = b.data
            d = g * y
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * x
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _DIV:
            a = node._a
            b = node._b
            z = node.data
            y = b.data
            d = g * _div(1.0, y)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * _div(-z, y)
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _NEG:
            a = node._a
            d = -g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _POWC:
            a = node._a
            b = node._b
            x = a.data
            c = b
            d = g * _mul0(c, _pow(x, c - 1))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _POW:
            a = node._a
            b = node._b
            z = node.data
            x = a.data
            y = b.data
            d = g * _mul0(y, _pow(x, y - 1))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * _where(_abs(x), z * _log(x), _mul0(z, _log(x)))
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _EXP:
            a = node._a
            z = node.data
            d = g * z
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LOG:
            a = node._a
            x = a.data
            d = g * _div(1.0, x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _TANH:
            a = node._a
            z = node.data
            d = g * (1.0 - (z * z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SIGMOID:
            a = node._a
            z = node.data
            d = g * (z * (1.0 - z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _RELU:
            a = node._a
            x = a.data
            d = g * _heaviside(x, 0.0)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SIN:
            a = node._a
            x = a.data
            d = g * _cos(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _COS:
            a = node._a
            x = a.data
            d = g * (-_sin(x))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SQRT:
            a = node._a
            z = node.data
            d = g * _div(0.5, z)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ABS:
            a = node._a
            x = a.data
            d = g * _sign(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _TAN:
            a = node._a
            z = node.data
            d = g * (1.0 + (z * z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ATAN:
            a = node._a
            x = a.data
            d = g * _div(1.0, 1.0 + (x * x))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LOG1P:
            a = node._a
            x = a.data
            d = g * _div(1.0, 1.0 + x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SOFTPLUS:
            a = node._a
            x = a.data
            d = g * _sigmoid(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LEAKY_RELU:
            a = node._a
            b = node._b
            x = a.data
            c = b
            d = g * _where(x, 1.0, c)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _MAXIMUM:
            a = node._a
            b = node._b
            x = a.data
            y = b.data
            d = g * _heaviside(x - y, 0.5)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * _heaviside(y - x, 0.5)
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _SINH:
            a = node._a
            x = a.data
            d = g * _cosh(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _COSH:
            a = node._a
            x = a.data
            d = g * _sinh(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ERF:
            a = node._a
            x = a.data
            d = g * (_div(2, _sqrt(4 * _atan(1))) * _exp(-(x * x)))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        else:  # a row replaced since this node was made: its step as the registry has it now
            _local_step(node, grads, False)


def chain_rule_values(order: list[Value], grads: dict | None) -> None:
    """The chain rule for ``grad(create_graph=True)``: Values into ``grads``.

    ``order`` lists the op nodes, each after its inputs; each node's local step runs output first.
    """
    for node in reversed(order):
        rule = node._rule
        g = grads[node]
        if rule is _ADD:
            a = node._a
            b = node._b
            d = g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _SUB:
            a = node._a
            b = node._b
            d = g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = -g
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _MUL:
            a = node._a
            b = node._b
            x = a
            y = b
            d = g * y
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * x
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _DIV:
            a = node._a
            b = node._b
            z = node
            y = b
            d = g * VALUE_MATH.div(1.0, y)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * VALUE_MATH.div(-z, y)
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _NEG:
            a = node._a
            d = -g
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _POWC:
            a = node._a
            b = node._b
            x = a
            c = b
            d = g * VALUE_MATH.mul0(c, VALUE_MATH.pow(x, c - 1))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _POW:
            a = node._a
            b = node._b
            z = node
            x = a
            y = b
            d = g * VALUE_MATH.mul0(y, VALUE_MATH.pow(x, y - 1))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * VALUE_MATH.where(VALUE_MATH.abs(x), z * VALUE_MATH.log(x), VALUE_MATH.mul0(z, VALUE_MATH.log(x)))
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _EXP:
            a = node._a
            z = node
            d = g * z
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LOG:
            a = node._a
            x = a
            d = g * VALUE_MATH.div(1.0, x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _TANH:
            a = node._a
            z = node
            d = g * (1.0 - (z * z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SIGMOID:
            a = node._a
            z = node
            d = g * (z * (1.0 - z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _RELU:
            a = node._a
            x = a
            d = g * VALUE_MATH.heaviside(x, 0.0)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SIN:
            a = node._a
            x = a
            d = g * VALUE_MATH.cos(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _COS:
            a = node._a
            x = a
            d = g * (-VALUE_MATH.sin(x))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SQRT:
            a = node._a
            z = node
            d = g * VALUE_MATH.div(0.5, z)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ABS:
            a = node._a
            x = a
            d = g * VALUE_MATH.sign(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _TAN:
            a = node._a
            z = node
            d = g * (1.0 + (z * z))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ATAN:
            a = node._a
            x = a
            d = g * VALUE_MATH.div(1.0, 1.0 + (x * x))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LOG1P:
            a = node._a
            x = a
            d = g * VALUE_MATH.div(1.0, 1.0 + x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _SOFTPLUS:
            a = node._a
            x = a
            d = g * VALUE_MATH.sigmoid(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _LEAKY_RELU:
            a = node._a
            b = node._b
            x = a
            c = b
            d = g * VALUE_MATH.where(x, 1.0, c)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _MAXIMUM:
            a = node._a
            b = node._b
            x = a
            y = b
            d = g * VALUE_MATH.heaviside(x - y, 0.5)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
            d = g * VALUE_MATH.heaviside(y - x, 0.5)
            old = grads.get(b)
            grads[b] = d if old is None else old + d
        elif rule is _SINH:
            a = node._a
            x = a
            d = g * VALUE_MATH.cosh(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _COSH:
            a = node._a
            x = a
            d = g * VALUE_MATH.sinh(x)
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        elif rule is _ERF:
            a = node._a
            x = a
            d = g * (VALUE_MATH.div(2, VALUE_MATH.sqrt(4 * VALUE_MATH.atan(1))) * VALUE_MATH.exp(-(x * x)))
            old = grads.get(a)
            grads[a] = d if old is None else old + d
        else:  # a row replaced since this node was made: its step as the registry has it now
            _local_step(node, grads, True)
