"""Evaluation on balls: SymPy expressions compiled into a straight-line ``Program`` and run in mpmath at any
precision on (midpoint, error bound) pairs, with IEEE-style results at poles and outside domains; and
``settle``, rising precision until every component's double is certain.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import mpmath
import sympy
from mpmath import mpc, mpf

from autodiff.rules import RULES
from reference.core.errors import NoOracle
from reference.oracle.definitions import SYMPY_NS, maximum, relu

SCHEDULE = (128, 256, 512, 1024, 2048, 4096)  # bits of working precision, tried in turn


# -- evaluation in mpmath with IEEE-style special values and a rigorous error bound -------------------
# Every value is a ball (m, e): the midpoint m at the working precision and e, an upper bound of
# |m - exact value| (rounded up, at 30 bits). The rounding of a ball to a double is certain when
# both ends round to the same double; otherwise the precision goes up. Equal results at two
# precisions prove nothing (tanh(100) is exactly 1 at 128 and at 256 bits), a bound does.
_NAN, _INF, _ONE, _HALF, _ZERO = mpf("nan"), mpf("inf"), mpf(1), mpf(0.5), mpf(0)
_isnan, _isinf, _isfinite = mpmath.isnan, mpmath.isinf, mpmath.isfinite
_HUGE = mpf(2) ** 64  # |x| beyond this in exp: the result is taken as inf or 0, with an unknown error
_UP = {"prec": 30, "rounding": "u"}
_SAFE = mpf(1) + mpf(2) ** -20  # covers the error of a 30-bit transcendental in a bound


def _up(x) -> mpf:
    return mpmath.fadd(abs(x), 0, **_UP)


def _lo(f, *args) -> mpf:
    """f at 30 bits (for bounds, which then get the factor _SAFE)."""
    with mpmath.workprec(30):
        return +f(*args)


def _error_sum(*es) -> mpf:
    """The sum of error radii, rounded up (so a bound stays a bound)."""
    total = _ZERO
    for e in es:
        total = mpmath.fadd(total, e, **_UP)
    return total


def _emul(*es) -> mpf:
    total = _ONE
    for e in es:
        total = mpmath.fmul(total, e, **_UP)
    return total


def _rnd(m, ulps: int = 2) -> mpf:
    """A bound of the rounding error of a result m at the current precision (``ulps`` units)."""
    if not _isfinite(m):
        return _ZERO
    return mpmath.ldexp(_up(m), ulps - mpmath.mp.prec)


def _special(m, *errors):
    """The ball of a nan or infinite result: exact if its inputs were, else unknown."""
    return m, (_ZERO if all(e == 0 for e in errors) else _INF)


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


def _is_integer(y) -> bool:
    return _isfinite(y) and y == mpmath.floor(y)


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


# Ball functions: (m, e) in, (m, e) out.
def _ball_smooth(f, bound):
    """A smooth function: its value at m, and e * sup|f'| (from ``bound(m, e)``) plus rounding."""
    def g(x, e):
        m = _real(f(x))
        if not _isfinite(m) or not _isfinite(x):
            return _special(m, e)
        if e == 0:
            return m, _rnd(m)
        lip = bound(x, e)
        return m, _error_sum(_emul(e, lip, _SAFE), _rnd(m))
    return g


def _slope_bound_exp(x, e):
    top = mpmath.fadd(x, e, **_UP)
    return _INF if top > _HUGE else _lo(mpmath.exp, top)


def _slope_bound_log(x, e):
    low = mpmath.fsub(x, e, prec=30, rounding="d")
    return _INF if low <= 0 else mpmath.fdiv(1, low, **_UP)


def _slope_bound_tan(x, e):
    c = mpmath.fsub(abs(_lo(mpmath.cos, x)), mpmath.fadd(e, mpf(2) ** -25, **_UP), prec=30, rounding="d")
    return _INF if c <= 0 else mpmath.fdiv(1, mpmath.fmul(c, c, prec=30, rounding="d"), **_UP)


def _slope_bound_tanh(x, e):
    y = mpmath.fsub(abs(x), e, prec=30, rounding="d")
    return _ONE if y <= 0 else min(_ONE, 4 * _lo(mpmath.exp, -2 * y))  # sech^2 y <= 4 e^(-2y)


def _slope_bound_atan(x, e):
    y = mpmath.fsub(abs(x), e, prec=30, rounding="d")
    return _ONE if y <= 0 else mpmath.fdiv(1, 1 + y * y, **_UP)


def _slope_bound_cosh(x, e):
    top = mpmath.fadd(abs(x), e, **_UP)
    return _INF if top > _HUGE else _lo(mpmath.cosh, top)


def _one(x, e):
    return _ONE


def _periodic(f):
    def g(x):
        return f(x) if _isfinite(x) else _NAN
    return g


def _ball_log(x, e):
    if e != 0 and x - e <= 0 and not _isnan(x):
        return _log(x), _INF  # the ball reaches 0: the logarithm is not known
    return _ball_smooth(_log, _slope_bound_log)(x, e)


def _ball_sqrt(x, e):
    if _isnan(x) or (x < 0 and x + e < 0):
        return _special(_NAN, e)
    if e == 0:
        m = mpmath.sqrt(x)
        return m, _rnd(m)
    if x - e <= 0:  # |sqrt a - sqrt b| <= sqrt |a - b|
        m = mpmath.sqrt(max(x, _ZERO))
        return m, _error_sum(_lo(mpmath.sqrt, mpmath.fmul(e, 2, **_UP)) * _SAFE, _rnd(m))
    low = mpmath.fsub(x, e, prec=30, rounding="d")
    m = mpmath.sqrt(x)
    return m, _error_sum(_emul(e, mpmath.fdiv(1, 2 * _lo(mpmath.sqrt, low), **_UP), _SAFE), _rnd(m))


def _step(values, at_zero):
    """A piecewise-constant function of one input: exact away from 0, unknown when the ball holds 0."""
    def g(x, e, *rest):
        if _isnan(x):
            return _special(x, e)
        if e != 0 and abs(x) <= e:
            return at_zero(x, *rest), _INF
        if x > 0:
            return values[0], _ZERO
        if x < 0:
            return values[1], _ZERO
        return at_zero(x, *rest), _ZERO
    return g


def _ball_heaviside(x, e, h0=(_HALF, _ZERO)):
    m, err = _step((_ONE, _ZERO), lambda x, *r: h0[0])(x, e)
    return m, (err if (x != 0 or e != 0) else h0[1])


def _ball_dirac(x, e, *k):
    if _isnan(x):
        return _special(x, e)
    if abs(x) > e:
        return _ZERO, _ZERO
    return _NAN, (_ZERO if e == 0 else _INF)  # no number at the origin


def _ball_sign(x, e):
    return _step((_ONE, -_ONE), lambda x: _ZERO)(x, e)


def _ball_abs(x, e):
    return abs(x), e


def _ball_relu(x, e):
    if _isnan(x):
        return _special(x, e)
    if x + e <= 0:
        return _ZERO, _ZERO  # the whole ball is at or below 0: exactly 0 (a kink above it stays certain)
    return (x if x > 0 else _ZERO), e  # 1-Lipschitz


def _ball_extreme(pick):
    def g(*balls):
        xs, es = balls[0::2], balls[1::2]
        if any(_isnan(x) for x in xs):
            return _special(_NAN, *es)
        m = pick(xs)
        k = xs.index(m)
        beyond = ((lambda j: xs[k] - es[k] >= xs[j] + es[j]) if pick is max
                  else (lambda j: xs[k] + es[k] <= xs[j] - es[j]))
        if all(j == k or beyond(j) for j in range(len(xs))):
            return m, es[k]  # that ball lies beyond every other: it is the answer, with its own error
        return m, max(es)  # 1-Lipschitz in each argument
    return g


_FUNCTIONS: dict[type, Callable] = {
    sympy.exp: _ball_smooth(_exp, _slope_bound_exp),
    sympy.log: _ball_log,
    sympy.sin: _ball_smooth(_periodic(mpmath.sin), _one),
    sympy.cos: _ball_smooth(_periodic(mpmath.cos), _one),
    sympy.tan: _ball_smooth(_periodic(mpmath.tan), _slope_bound_tan),
    sympy.tanh: _ball_smooth(mpmath.tanh, _slope_bound_tanh),
    sympy.sinh: _ball_smooth(mpmath.sinh, _slope_bound_cosh),
    sympy.cosh: _ball_smooth(mpmath.cosh, _slope_bound_cosh),
    sympy.atan: _ball_smooth(mpmath.atan, _slope_bound_atan),
    sympy.Abs: _ball_abs,
    sympy.sign: _ball_sign,
    sympy.Heaviside: lambda x, e, *h: _ball_heaviside(x, e, *([(h[0], h[1])] if h else [])),
    sympy.DiracDelta: _ball_dirac,
    relu: _ball_relu,
    maximum: _ball_extreme(max),
    sympy.Max: _ball_extreme(max),
    sympy.Min: _ball_extreme(min),
}


def ball_add(balls) -> tuple:
    """A sum of balls (the rounding error counted only when the sum was rounded)."""
    ms = [b[0] for b in balls]
    if not all(_isfinite(x) for x in ms):
        m = mpmath.fsum(ms)
        # a certain nan or inf decides the sum whatever the finite terms' errors are
        special_exact = all(e == 0 for x, e in balls if not _isfinite(x))
        return m, (_ZERO if special_exact else _INF)
    total = ms[0]
    for x in ms[1:]:
        total = mpmath.fadd(total, x, exact=True)
    m = +total
    return m, _error_sum(*[b[1] for b in balls], _ZERO if m == total else _rnd(m, 1))


def ball_mul(balls) -> tuple:
    """A product of balls (the rounding error counted only when a product was rounded)."""
    m, e = balls[0]
    for x, ex in balls[1:]:
        if not (_isfinite(m) and _isfinite(x)):
            product = m * x
            if _isnan(m) or _isnan(x):  # a certain nan stays nan whatever it meets
                m, e = _NAN, (_ZERO if (not _isnan(m) or e == 0) and (not _isnan(x) or ex == 0) else _INF)
            elif _isnan(product):  # inf * 0: certain only if the zero is exact
                m, e = product, (_ZERO if e == 0 and ex == 0 else _INF)
            else:  # inf times a number whose ball excludes 0 (or another inf)
                inf_exact = (e == 0 or _isfinite(m)) and (ex == 0 or _isfinite(x))
                other_clear = (not _isfinite(m) or abs(m) > e) and (not _isfinite(x) or abs(x) > ex)
                m, e = product, (_ZERO if inf_exact and other_clear else _INF)
            continue
        exact = mpmath.fmul(m, x, exact=True)
        product = +exact
        rounding = _ZERO if product == exact else _rnd(product, 1)
        e = _error_sum(_emul(_up(m), ex), _emul(_up(x), e), _emul(e, ex), rounding)
        m = product
    return m, e


def _int_pow(x, n: int):
    """x**n for a positive integer n: exact when the exact power fits the working precision."""
    if n <= 64:
        exact = x
        for _ in range(n - 1):
            exact = mpmath.fmul(exact, x, exact=True)
        m = +exact
        return m, (_ZERO if m == exact else _rnd(m, 1))
    m = x ** n
    return m, _rnd(m, 4)


def _ball_pow(x, ex, y, ey):
    """x**y for two balls."""
    if ey == 0 and _isfinite(x) and _is_integer(y) and 0 < y < 2 ** 62:
        n = int(y)
        m, rounding = _int_pow(x, n)
        if ex == 0:
            return m, rounding
        # |(x + d)**n - x**n| <= n (|x| + e)**(n - 1) e
        top = mpmath.fadd(abs(x), ex, **_UP)
        spread = _emul(n, ex, mpmath.power(top, n - 1) if n > 1 else _ONE, _SAFE)
        return m, _error_sum(spread, rounding)
    m = _pow(x, y)
    if ex == 0 and ey == 0:
        return m, _rnd(m, 4)
    if not (_isfinite(m) and _isfinite(x) and _isfinite(y)) or m == 0:
        return m, _INF
    a = abs(x)
    low = mpmath.fsub(a, ex, prec=30, rounding="d")
    if low <= 0 or (x < 0 and ey != 0):
        return m, _INF
    # relative change of |x|**y: exp(|y| ex / low + |log| ey) - 1, with |log| over the ball
    log_bound = max(abs(_lo(mpmath.log, low)), abs(_lo(mpmath.log, a + ex)))
    k = _error_sum(_emul(_up(y) + ey, mpmath.fdiv(ex, low, **_UP)), _emul(log_bound, ey) * _SAFE)
    if k > 64:
        return m, _INF
    rel = _emul(k, _lo(mpmath.exp, k), _SAFE)
    return m, _error_sum(_emul(_up(m), rel), _rnd(m, 4))


def _ball_pow_rational(x, e, p: int, q: int):
    """x**(p/q) for a constant rational exponent."""
    if q == 2 and p == 1:
        return _ball_sqrt(x, e)
    y = mpf(p) / q
    return _ball_pow(x, e, y, _ZERO if y * q == p else _rnd(y))


def _constant(e: sympy.Expr) -> tuple:
    """A SymPy constant at the current precision, as a ball."""
    if e.is_Integer:
        m = mpf(int(e))
        return m, (_ZERO if m == int(e) else _rnd(m))
    if e.is_Rational:
        m = mpf(int(e.p)) / int(e.q)
        return m, (_ZERO if mpmath.fmul(m, int(e.q), exact=True) == int(e.p) else _rnd(m))
    if e is sympy.oo:
        return _INF, _ZERO
    if e is sympy.S.NegativeInfinity:
        return -_INF, _ZERO
    if e is sympy.nan or e is sympy.zoo or e is sympy.I:
        return _NAN, _ZERO  # no sign, or not real: nan, as IEEE has no such value
    if e is sympy.pi:
        m = +mpmath.pi
        return m, _rnd(m)
    if e is sympy.E:
        m = +mpmath.e
        return m, _rnd(m)
    if e.is_Float:
        return mpf(e._mpf_), _ZERO
    raise NoOracle(f"cannot evaluate the SymPy constant {e}")


class Program:
    """SymPy expressions as one straight-line program over ``symbols``, run on balls with mpmath."""

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
                fn = _FUNCTIONS.get(type(e)) or _FUNCTIONS.get(e.func) or _row_ball(type(e))
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

    def run(self, values: Sequence[tuple]) -> list[tuple]:
        """The outputs as balls (m, e) at ``values`` (balls, one per symbol), at the current precision."""
        regs = list(values)
        append = regs.append
        for kind, args, extra in self.code:
            if kind == "add":
                append(ball_add([regs[i] for i in args]))
            elif kind == "mul":
                append(ball_mul([regs[i] for i in args]))
            elif kind == "powq":
                append(_ball_pow_rational(*regs[args[0]], *extra))
            elif kind == "fn":
                flat = [v for i in args for v in regs[i]]
                m, e = extra(*flat)
                append((_real(m), e))
            elif kind == "pow":
                append(_ball_pow(*regs[args[0]], *regs[args[1]]))
            else:
                append(_constant(extra))
        return [regs[i] for i in self.outputs]


def exact_ball(x: float) -> tuple:
    """A double as an exact ball."""
    return mpf(x), _ZERO


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


def certain(ball: tuple) -> float | None:
    """The double every number in the ball rounds to (None if the ball straddles a boundary)."""
    m, e = ball
    m = _real(m)
    if _isnan(e) or _isinf(e):
        return None
    if _isnan(m):
        return math.nan if e == 0 else None
    if _isinf(m):
        return to_double(m) if e == 0 else None
    d = to_double(m)
    if e == 0:
        return d
    if to_double(mpmath.fsub(m, e, exact=True)) == d == to_double(mpmath.fadd(m, e, exact=True)):
        return d
    return None


def settle(compute: Callable[[], list], schedule: Sequence[int] | None = None,
           check: Callable[[], None] | None = None) -> tuple[list[float | None], int]:
    """Run ``compute`` (a list of balls) at rising precision until each component's double is certain.

    Returns (doubles, bits): a component still uncertain at the last precision is None.
    ``check`` is called before each precision (a budget can raise there).
    """
    schedule = SCHEDULE if schedule is None else schedule
    result: list | None = None
    bits = schedule[0]
    for bits in schedule:
        if check is not None:
            check()
        with mpmath.workprec(bits):
            balls = compute()
        if result is None:
            result = [None] * len(balls)
        for i, ball in enumerate(balls):
            if result[i] is None:
                result[i] = certain(ball)
        if all(r is not None for r in result):
            break
    return result or [], bits


# -- a smooth unary op known only by its registry row -----------------------------------------------
_ROW_BALLS: dict[type, Callable | None] = {}


def _row_ball(cls: type) -> Callable | None:
    """The ball function of a SymPy function that a registry row is defined as (erf, say), found once.

    Its value is mpmath's function of the same name; the bound on its slope over the ball is its SymPy
    derivative evaluated on that ball by a ``Program``, which encloses the derivative at every point of
    the ball. So a new smooth op needs no entry here, only its row (None: no such row or no mpmath twin).
    """
    if cls not in _ROW_BALLS:
        _ROW_BALLS[cls] = _make_row_ball(cls)
    return _ROW_BALLS[cls]


def _make_row_ball(cls: type) -> Callable | None:
    f = getattr(mpmath, cls.__name__, None)
    defined = any(rule.systems.sympy is not None and rule.arity == 1 and not rule.params
                  and isinstance(rule.systems.sympy(SYMPY_NS, _X), cls) for rule in RULES.values())
    if f is None or not defined:
        return None
    slope = Program([sympy.diff(cls(_X), _X)], [_X])

    def bound(x, e):
        ((m, err),) = slope.run([(x, e)])
        return _error_sum(abs(m), err) if _isfinite(m) and _isfinite(err) else _INF

    return _ball_smooth(f, bound)


_X = sympy.Symbol("x", real=True)
