"""Exact arithmetic for the oracle: SymPy expressions with exact constants, evaluated with mpmath.

Three pieces, each usable on its own:

- ``ExactBuilder``: runs a case function on SymPy symbols through a proxy whose operators take
  Python floats exactly (``sympy.Rational`` of the binary value, never a 53-bit ``Float``) and
  whose constant results that SymPy cannot represent as a finite real (``1/0 = zoo``,
  ``log(-1) = I*pi``, ``cos(oo)``, a float that is already ``inf``) become placeholder symbols
  carrying their IEEE value.
- ``Program``: SymPy expressions compiled once into a straight-line program (shared
  subexpressions computed once) and evaluated with mpmath at any precision, with IEEE-style
  results at poles and outside domains (``1/0 = inf``, ``log(-1) = nan``, ``Heaviside(nan) = nan``).
- ``settle``: evaluation at rising precision until the rounding of every component to a double
  is certain (two precisions agree and the interval between them is clear of a rounding
  boundary), with a cap and an honest failure.
"""
from __future__ import annotations

import math
import numbers
import threading
import weakref
from collections.abc import Callable, Sequence

import mpmath
import sympy
from mpmath import mpc, mpf

from autodiff.rules import RULES

from .oracle import OPS, NoOracle

__all__ = ["DERIVATIONS", "SCHEDULE", "Derivation", "ExactBuilder", "NoOracle", "Program", "certain", "op_definition",
           "relu", "settle", "sympy_namespace", "to_double"]

SCHEDULE = (128, 256, 512, 1024, 2048, 4096)  # bits of working precision, tried in turn


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


class _SympyNamespace:
    """The sympy module plus ``relu``: what an op's SymPy definition is written against."""

    relu = staticmethod(relu)

    def __getattr__(self, name):
        return getattr(sympy, name)


SYMPY_NS = _SympyNamespace()


def sympy_namespace():
    """The namespace op definitions take first (the sympy module plus ``relu``)."""
    return SYMPY_NS


def op_definition(name: str, rule=None) -> Callable:
    """The SymPy definition of an op: the registry row's ``sympy``, else the fallback in ``oracle.OPS``."""
    if rule is None:
        rule = RULES.get(name)
    own = getattr(rule, "sympy", None) if rule is not None else None
    if own is not None:
        return own
    try:
        return OPS[name]
    except KeyError:
        raise NoOracle(f"no SymPy definition for the op {name!r}") from None


def _namespace_rules() -> dict:
    """Every name a case may call on ``m`` (op name, Value method, expression aliases) -> its row."""
    table = {}
    for rule in RULES.values():
        if rule.operator is not None and rule.method is None:
            continue
        for key in (rule.name, rule.method, *rule.names):
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


# -- building a case's expression with exact constants ---------------------------------------------
_BAD = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)


class ExactBuilder:
    """Builds SymPy expressions from a case function with exact constants and placeholders."""

    def __init__(self) -> None:
        self.placeholders: list[tuple[sympy.Symbol, float]] = []
        self.namespace = _ExactMath(self)

    def placeholder(self, value: float) -> sympy.Symbol:
        """A fresh symbol standing for a non-finite constant (IEEE inf or nan)."""
        symbol = sympy.Symbol(f"_k{len(self.placeholders)}", infinite=True) if math.isinf(value) \
            else sympy.Symbol(f"_k{len(self.placeholders)}")
        self.placeholders.append((symbol, value))
        return symbol

    def lift(self, x) -> sympy.Expr | None:
        """An operand as a SymPy expression (None if it is not a number or an Exact)."""
        if isinstance(x, Exact):
            return x.expr
        if isinstance(x, sympy.Expr):
            return x
        if isinstance(x, numbers.Real):
            if isinstance(x, float) or not isinstance(x, numbers.Integral):
                if not math.isfinite(float(x)):
                    return self.placeholder(float(x))
            return exact_number(x)
        return None

    def apply(self, name: str, *args, params: tuple = ()) -> sympy.Expr:
        """The op ``name`` on SymPy operands; a constant SymPy cannot keep real becomes a placeholder."""
        if name == "div" and _is_constant(args[1]):
            # x / c as x * (1/c): the same number in IEEE arithmetic, even for c = 0 or inf,
            # and it keeps SymPy's zoo out of the expression.
            return self.apply("mul", args[0], self.apply("powc", args[1], params=(-1,)))
        exact_params = tuple(exact_number(p) for p in params)
        result = sympy.sympify(op_definition(name)(SYMPY_NS, *args, *exact_params))
        if _is_constant(result) and not (result.is_extended_real and result.is_finite):
            return self._ieee_constant(name, args, exact_params, result)
        return result

    def _ieee_constant(self, name, args, params, result) -> sympy.Expr:
        known = [s for s, _ in self.placeholders]
        if any(a.free_symbols - set(known) for a in args):
            # SymPy folded an expression of the variables to a constant (0 * (x + inf) = nan).
            if result is sympy.nan or result is sympy.zoo:
                return self.placeholder(math.nan)
            raise NoOracle(f"SymPy folds {name} of an expression to {result}")
        symbols = sympy.symbols(f"_a0:{len(args)}", real=True)
        program = Program([sympy.sympify(op_definition(name)(SYMPY_NS, *symbols, *params))], list(symbols))
        operands = Program(list(args), known)
        with mpmath.workprec(256):
            (value,) = program.run(operands.run([mpf(v) for _, v in self.placeholders]))
        value = to_double(value)
        if math.isfinite(value):
            raise NoOracle(f"SymPy gives {result} for a constant that is {value!r} in IEEE arithmetic")
        return self.placeholder(value)


def _is_constant(e: sympy.Expr) -> bool:
    return not e.free_symbols


class Exact:
    """A SymPy expression whose operators take Python numbers exactly (through its builder)."""

    __slots__ = ("builder", "expr")

    def __init__(self, expr: sympy.Expr, builder: ExactBuilder) -> None:
        self.expr = expr
        self.builder = builder

    def _op(self, name, other, reflected=False):
        o = self.builder.lift(other)
        if o is None:
            return NotImplemented
        a, b = (o, self.expr) if reflected else (self.expr, o)
        return Exact(self.builder.apply(name, a, b), self.builder)

    def __add__(self, o):
        return self._op("add", o)

    def __radd__(self, o):
        return self._op("add", o, True)

    def __sub__(self, o):
        return self._op("sub", o)

    def __rsub__(self, o):
        return self._op("sub", o, True)

    def __mul__(self, o):
        return self._op("mul", o)

    def __rmul__(self, o):
        return self._op("mul", o, True)

    def __truediv__(self, o):
        return self._op("div", o)

    def __rtruediv__(self, o):
        return self._op("div", o, True)

    def __pow__(self, o):
        return self._op("pow", o)

    def __rpow__(self, o):
        return self._op("pow", o, True)

    def __neg__(self):
        return Exact(self.builder.apply("neg", self.expr), self.builder)

    def __pos__(self):
        return self

    def __abs__(self):
        return Exact(self.builder.apply("abs", self.expr), self.builder)

    def __repr__(self) -> str:
        return f"Exact({self.expr})"


class _ExactMath:
    """The math namespace ``m`` of the proxy: every registry op by name, on Exacts or numbers."""

    def __init__(self, builder: ExactBuilder) -> None:
        self._builder = builder
        self._rules = _namespace_rules()

    def __getattr__(self, name):
        rule = self._rules.get(name) if not name.startswith("_") else None
        if rule is None:
            raise AttributeError(name)
        builder, arity = self._builder, rule.arity
        defaults = dict(zip(rule.params[len(rule.params) - len(rule.defaults):], rule.defaults))

        def function(*args, **kwargs):
            inputs = [builder.lift(a) for a in args[:arity]]
            if len(inputs) < arity or any(i is None for i in inputs):
                raise TypeError(f"{name}() takes {arity} number(s)")
            given = dict(zip(rule.params, args[arity:]), **kwargs)
            params = tuple(given[p] if p in given else defaults[p] for p in rule.params)
            return Exact(builder.apply(rule.name, *inputs, params=params), builder)
        return function


# -- evaluation in mpmath with IEEE-style special values --------------------------------------------
_NAN, _INF, _ONE, _HALF = mpf("nan"), mpf("inf"), mpf(1), mpf(0.5)
_isnan, _isinf = mpmath.isnan, mpmath.isinf
_HUGE = mpf(2) ** 64  # |x| beyond this in exp: the result is taken as inf or 0 outright


def _real(r):
    if isinstance(r, mpc):
        return r.real if r.imag == 0 else _NAN
    return r


def _exp(x):
    if _isnan(x):
        return x
    if abs(x) > _HUGE:
        return _INF if x > 0 else mpf(0)
    return mpmath.exp(x)


def _log(x):
    if _isnan(x) or x < 0:
        return _NAN
    return mpmath.log(x)  # log(0) = -inf, log(inf) = inf


def _periodic(f):
    def g(x):
        return f(x) if mpmath.isfinite(x) else _NAN
    return g


def _sign(x):
    return x if _isnan(x) else (_ONE if x > 0 else (-_ONE if x < 0 else mpf(0)))


def _heaviside(x, h0=_HALF):
    return x if _isnan(x) else (_ONE if x > 0 else (mpf(0) if x < 0 else h0))


def _dirac(x, k=None):
    """DiracDelta and its derivatives: 0 off the origin; no number at it."""
    return mpf(0) if (not _isnan(x) and x != 0) else _NAN


def _relu(x):
    return x if (_isnan(x) or x > 0) else mpf(0)


def _max(*xs):
    return _NAN if any(_isnan(x) for x in xs) else max(xs)


def _min(*xs):
    return _NAN if any(_isnan(x) for x in xs) else min(xs)


def _is_integer(y) -> bool:
    return mpmath.isfinite(y) and y == mpmath.floor(y)


def _pow(x, y):
    """x**y as IEEE pow does it (pow(x, 0) = 1, 0**-1 = inf, (-2)**0.5 = nan), exact elsewhere."""
    if y == 0:
        return _ONE
    if _isnan(x) or _isnan(y):
        return _ONE if x == 1 else _NAN
    if x == 1:
        return _ONE
    if _isinf(y):
        a = abs(x)
        if a == 1:
            return _ONE
        return _INF if (a > 1) == (y > 0) else mpf(0)
    odd = _is_integer(y) and int(y) % 2 == 1
    if x == 0:
        return mpf(0) if y > 0 else _INF
    if _isinf(x):
        if x > 0:
            return _INF if y > 0 else mpf(0)
        return (-_INF if odd else _INF) if y > 0 else mpf(0)
    if x < 0:
        if not _is_integer(y):
            return _NAN
        r = _pow(-x, y)
        return -r if odd else r
    if _is_integer(y) and abs(y) < 2 ** 62:
        return x ** int(y)
    return _real(mpmath.power(x, y))


def _pow_rational(x, p: int, q: int):
    """x**(p/q) for a constant rational exponent, exactly rounded where mpmath allows."""
    if q == 1:
        return _pow(x, mpf(p))
    if _isnan(x) or _isinf(x) or x <= 0:
        return _pow(x, mpf(p) / q)
    if q == 2:
        r = mpmath.sqrt(x)
        return r if p == 1 else _pow(r, mpf(p))
    return _real(mpmath.power(x, mpf(p) / q))


_FUNCTIONS: dict[type, Callable] = {
    sympy.exp: _exp,
    sympy.log: _log,
    sympy.sin: _periodic(mpmath.sin),
    sympy.cos: _periodic(mpmath.cos),
    sympy.tan: _periodic(mpmath.tan),
    sympy.tanh: lambda x: _NAN if _isnan(x) else mpmath.tanh(x),
    sympy.sinh: lambda x: _NAN if _isnan(x) else mpmath.sinh(x),
    sympy.cosh: lambda x: _NAN if _isnan(x) else mpmath.cosh(x),
    sympy.atan: lambda x: _NAN if _isnan(x) else mpmath.atan(x),
    sympy.Abs: lambda x: abs(x),
    sympy.sign: _sign,
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac,
    relu: _relu,
    sympy.Max: _max,
    sympy.Min: _min,
}


def _constant(e: sympy.Expr):
    """A SymPy constant at the current precision: exact numbers rounded once, IEEE specials."""
    if e.is_Integer:
        return mpf(int(e))
    if e.is_Rational:
        return mpf(int(e.p)) / int(e.q)
    if e is sympy.oo:
        return _INF
    if e is sympy.S.NegativeInfinity:
        return -_INF
    if e is sympy.nan or e is sympy.zoo or e is sympy.I:
        return _NAN  # no sign, or not real: nan, as IEEE has no such value
    if e is sympy.pi:
        return +mpmath.pi
    if e is sympy.E:
        return +mpmath.e
    if e.is_Float:
        return mpf(e._mpf_)
    raise NoOracle(f"cannot evaluate the SymPy constant {e}")


class Program:
    """SymPy expressions as one straight-line program over ``symbols``, run with mpmath."""

    def __init__(self, exprs: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]) -> None:
        self.code: list[tuple] = []  # (kind, slots, extra)
        self._slot: dict = {s: i for i, s in enumerate(symbols)}
        self.inputs = len(symbols)
        self.outputs = [self._emit(e) for e in exprs]

    def _emit(self, root) -> int:
        slot = self._slot
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if e in slot:
                continue
            if e.is_Symbol:
                raise NoOracle(f"the expression has a free symbol {e}")
            if e.is_number and e.is_Atom:
                self._add(e, "const", (), e)
                continue
            if not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in slot)
                continue
            args = tuple(slot[a] for a in e.args)
            if e.is_Add:
                self._add(e, "add", args, None)
            elif e.is_Mul:
                self._add(e, "mul", args, None)
            elif e.is_Pow:
                exponent = e.exp
                if exponent.is_Rational:
                    self._add(e, "powq", args[:1], (int(exponent.p), int(exponent.q)))
                else:
                    self._add(e, "pow", args, None)
            else:
                fn = _FUNCTIONS.get(type(e)) or _FUNCTIONS.get(e.func)
                if fn is None:
                    if isinstance(e, sympy.calculus.accumulationbounds.AccumBounds):
                        self._add(e, "const", (), sympy.nan)
                        continue
                    raise NoOracle(f"cannot evaluate {type(e).__name__} exactly")
                self._add(e, "fn", args, fn)
        return slot[root]

    def _add(self, e, kind, args, extra) -> None:
        self._slot[e] = self.inputs + len(self.code)
        self.code.append((kind, args, extra))

    def run(self, values: Sequence) -> list:
        """The outputs at ``values`` (mpf, one per symbol) at the current mpmath precision."""
        regs = list(values)
        append = regs.append
        fsum, fprod = mpmath.fsum, mpmath.fprod
        for kind, args, extra in self.code:
            if kind == "add":
                append(fsum([regs[i] for i in args]))
            elif kind == "mul":
                append(fprod([regs[i] for i in args]))
            elif kind == "powq":
                append(_pow_rational(regs[args[0]], *extra))
            elif kind == "fn":
                append(_real(extra(*[regs[i] for i in args])))
            elif kind == "pow":
                append(_pow(regs[args[0]], regs[args[1]]))
            else:
                append(_constant(extra))
        return [regs[i] for i in self.outputs]


# -- rounding to a double, with certainty ------------------------------------------------------------
def to_double(v) -> float:
    """The correctly rounded double of an mpmath number (nan for a non-real one), zeros unsigned."""
    if isinstance(v, mpc):
        if v.imag != 0:
            return math.nan
        v = v.real
    if not isinstance(v, mpf):
        return float(v)
    if _isnan(v):
        return math.nan
    if _isinf(v):
        return math.inf if v > 0 else -math.inf
    sign, man, exp, bc = v._mpf_
    if not man:
        return 0.0
    if bc + exp > 1025:
        return -math.inf if sign else math.inf
    if bc + exp < -1076:  # below half the smallest subnormal
        return 0.0
    try:
        r = float(man << exp) if exp >= 0 else man / (1 << -exp)  # CPython rounds both correctly
    except OverflowError:
        r = math.inf
    return (-r if sign else r) + 0.0


def certain(low, high) -> float | None:
    """The double both evaluations round to, if the interval between them is clear of a boundary."""
    low, high = _real(low), _real(high)
    if _isnan(low) or _isnan(high):
        return math.nan if (_isnan(low) and _isnan(high)) else None
    if _isinf(low) or _isinf(high):
        return to_double(high) if low == high else None
    d = to_double(high)
    if low == high:
        return d
    delta = abs(mpmath.fsub(high, low, exact=True))
    if to_double(mpmath.fsub(high, delta, exact=True)) == d == to_double(mpmath.fadd(high, delta, exact=True)):
        return d
    return None


def settle(compute: Callable[[], list], schedule: Sequence[int] = SCHEDULE,
           check: Callable[[], None] | None = None) -> tuple[list[float | None], int]:
    """Run ``compute`` at rising precision until each component's double is certain.

    Returns (doubles, bits): a component still uncertain at the last precision is None.
    ``check`` is called between precisions (a budget can raise there).
    """
    previous, result, bits = None, None, schedule[0]
    for bits in schedule:
        if check is not None:
            check()
        with mpmath.workprec(bits):
            current = compute()
        if previous is not None:
            if result is None:
                result = [None] * len(current)
            for i, (a, b) in enumerate(zip(previous, current)):
                if result[i] is None:
                    result[i] = certain(a, b)
            if all(r is not None for r in result):
                break
        previous = current
    return (result if result is not None else [None] * len(previous or ())), bits


# -- a case as SymPy sees it ------------------------------------------------------------------------
class Derivation:
    """A case's expression with exact constants, its exact partials and (lazily) its Hessian."""

    def __init__(self, case) -> None:
        self.variables = tuple(case.variables)
        self.symbols = [sympy.Symbol(f"_v{i}", real=True) for i in range(len(self.variables))]
        builder = ExactBuilder()
        try:
            out = case.fn(builder.namespace, *[Exact(s, builder) for s in self.symbols])
        except NoOracle:
            raise
        except Exception as err:
            raise NoOracle(f"SymPy cannot build the expression: {type(err).__name__}: {err}") from None
        expr = builder.lift(out)
        if expr is None:
            raise NoOracle(f"the case returned {type(out).__name__}, not a number")
        self.expr = expr
        self._case = weakref.ref(case)
        self.placeholders = builder.placeholders
        self.partials = [sympy.diff(expr, s) for s in self.symbols]
        self._hessian: list[list[sympy.Expr]] | None = None
        self._programs: dict[int, Program] = {}

    @property
    def arguments(self) -> list[sympy.Symbol]:
        """The symbols a compiled function takes: the variables, then the placeholders."""
        return self.symbols + [s for s, _ in self.placeholders]

    def hessian(self) -> list[list[sympy.Expr]]:
        """H[i][j] = d/dx_j of df/dx_i, computed once per pair (the two orders are equal symbolically)."""
        if self._hessian is None:
            n = len(self.symbols)
            h = [[sympy.S.Zero] * n for _ in range(n)]
            for i in range(n):
                for j in range(i, n):
                    h[i][j] = h[j][i] = sympy.diff(self.partials[i], self.symbols[j])
            self._hessian = h
        return self._hessian

    def outputs(self, order: int) -> list[sympy.Expr]:
        """Value, partials and (order 2) the Hessian's upper triangle row by row."""
        out = [self.expr, *self.partials]
        if order >= 2:
            h = self.hessian()
            out += [h[i][j] for i in range(len(h)) for j in range(i, len(h))]
        return out

    def program(self, order: int) -> Program:
        if order not in self._programs:
            self._programs[order] = Program(self.outputs(order), self.arguments)
        return self._programs[order]

    def exact(self, point: Sequence[float], order: int = 1, check=None) -> tuple:
        """(value, grad, hessian or None) as correctly rounded doubles; NoOracle if uncertain."""
        program = self.program(order)
        values = [float(x) for x in point] + [v for _, v in self.placeholders]

        def compute():
            return program.run([mpf(x) for x in values])

        doubles, bits = settle(compute, check=check)
        names = ["value", *self.variables]
        if order >= 2:
            n = len(self.variables)
            names += [f"d2/d{self.variables[i]}d{self.variables[j]}" for i in range(n) for j in range(i, n)]
        missing = [names[i] for i, d in enumerate(doubles) if d is None]
        if missing:
            raise NoOracle(f"the rounding of {', '.join(missing[:3])} is not certain at {bits} bits")
        return unpack(doubles, len(self.variables), order)


def unpack(doubles: list[float], n: int, order: int) -> tuple:
    """(value, grad, hessian or None) from value, partials and the Hessian's upper triangle."""
    value, grad = doubles[0], tuple(doubles[1:1 + n])
    if order < 2:
        return value, grad, None
    h = [[0.0] * n for _ in range(n)]
    k = 1 + n
    for i in range(n):
        for j in range(i, n):
            h[i][j] = h[j][i] = doubles[k]
            k += 1
    return value, grad, tuple(tuple(row) for row in h)


class _KinkValues:
    """Transitional: the harness's old ``with_kink_values(h0, s0).exact(point)`` on the chain rule."""

    def __init__(self, case, h0: float, s0: float) -> None:
        self._case, self._overrides = case, {"relu@0": (h0,), "abs@0": (s0,)}

    def exact(self, point) -> list[float]:
        from .oracle import exact_with_conventions
        value, grad = exact_with_conventions(self._case, point, self._overrides)
        return [value, *grad]


def _with_kink_values(self, heaviside0: float, sign0: float) -> _KinkValues:
    """Deprecated: use ``oracle.exact_with_conventions(case, point, {"relu@0": ..., "abs@0": ...})``."""
    return _KinkValues(self._case(), heaviside0, sign0)


Derivation.with_kink_values = _with_kink_values


class _Cache:
    """One Derivation per case function, shared by the sympy backend and the on-the-fly oracle.

    Keyed weakly by the function object itself: two cases with the same name but
    different functions never share a derivation, and a dropped function frees its own.
    """

    def __init__(self) -> None:
        self._items: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, case) -> Derivation:
        """The case's derivation, built on first use (NoOracle if SymPy cannot build it)."""
        with self._lock:
            item = self._items.get(case.fn)
        if item is None or item.variables != tuple(case.variables):
            item = Derivation(case)
            with self._lock:
                self._items[case.fn] = item
        return item


DERIVATIONS = _Cache()
