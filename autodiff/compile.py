"""Compiled mode: trace a graph once, then recompute its value and gradient without building nodes.

``compile_gradient(output, inputs)`` walks the graph once (``autodiff.graph.topological``) and
generates one straight-line Python function: the forward pass, then the chain rule in reverse
topological order. Nothing in it is written by hand per op: every line comes from evaluating the
registry row's own ``forward`` and ``partials`` on a *code namespace*, whose values are snippets
of source code. ``x * y`` on snippets gives ``"(x * y)"``; ``m.<name>(...)`` gives a call of
``FLOAT.<name>`` (resolved by name, so an op added to the registry needs no edit here). Python's
float ``+ - *`` are written inline (they never raise); division and powers always go through
``FLOAT.div`` and ``FLOAT.pow``. A rule that branches on a value in Python (which a snippet cannot
answer) is called as it is, with the float namespace: slower, still the rule's own text.

Bit-identical to ``Value.backward()``: the generated code evaluates the same partials with the
same operations and accumulates each adjoint in the same order as the interpreted chain rule
(contributions in reverse topological order, each ``g * p``). Leaves that are not among
``inputs`` are constants and baked in, and so is every node that depends on constants only.
Adjoints are only computed for nodes that depend on an input (dropping the others changes no
sum that is kept). An adjoint here starts at its first contribution rather than at ``0.0 +``
it; the two differ only in the sign of a zero, and since the chain rule only multiplies and adds
adjoints, that can only change the sign of other zeros: the returned partials are ``0.0 + sum``,
exactly the interpreted leaf's ``.grad`` after ``zero_grad()``.

``CompiledGradient.batch(rows)`` runs the same generated program on NumPy arrays, one row of
inputs per element (``numpy`` is imported there and only there). ``+ - * /`` and ``sqrt`` are
correctly rounded in NumPy as in Python, so they give the same bits; NumPy's ``exp``, ``log``,
``tanh``, ``sin``, ``cos`` and ``power`` may use their own (SIMD) implementations, which differ
from the C library's by at most a few ulp (NumPy documents up to 4 ulp), and the result depends
on the CPU (AVX-512 or not). That error then propagates through the program like any rounding:
see ``BATCH_ULP`` for the bound the tests hold, relative to each row's own scale.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from .codegen import Code as _Code
from .codegen import CodeMath as _CodeMath
from .codegen import rule_code as _rule_code
from .graph import topological

__all__ = ["BATCH_ULP", "CompiledGradient", "compile_gradient"]

BATCH_ULP = 64
"""Bound (in ulp of the row's largest partial in magnitude, or of the value) for ``batch`` against the
scalar function, on well-conditioned programs such as the corpus and MLP losses (tested)."""

_NAME = re.compile(r"[A-Za-z_]\w*|1\.0")
_counter = itertools.count()


def _is_one(x) -> bool:
    return x.__class__ in (float, int) and x == 1


_VAR = re.compile(r"\bv\d+\b")
_MAX_NESTING = 24  # the parser allows 200 nested parentheses; stay far below


def _inline_single_uses(body: list[str], tail: str) -> list[str]:  # the body with the tail last
    """Write a forward value used exactly once into its use (one store and one load fewer).

    The code is single-assignment and every expression is pure, so moving one later changes
    no result; the operations and their order within each expression stay as they were.
    """
    uses: dict[str, int] = {}
    for line in (*body, tail):
        for name in _VAR.findall(line.split(" = ", 1)[1] if line.startswith("    v") else line):
            uses[name] = uses.get(name, 0) + 1
    pending: dict[str, tuple[str, int]] = {}  # name -> (expression, nesting)

    def substitute(text: str) -> tuple[str, int]:
        depth = 0

        def put(match):
            nonlocal depth
            found = pending.pop(match.group(0), None)
            if found is None:
                return match.group(0)
            depth = max(depth, found[1])
            return found[0]
        return _VAR.sub(put, text), depth

    out = []
    for line in body:
        if line.startswith("    v"):
            name, expr = line[4:].split(" = ", 1)
            expr, depth = substitute(expr)
            if uses.get(name) == 1 and depth < _MAX_NESTING:
                pending[name] = (expr, depth + 1)
                continue
            out.append(f"    {name} = {expr}")
        else:
            out.append(substitute(line)[0])
    out.append(substitute(tail)[0])
    assert not pending, "a single-use value was never used"
    return out


def _reuse_names(body: list[str]) -> list[str]:
    """Rename the single-assignment values so that a name is reused once its value is dead.

    A step's program has tens of thousands of values; as many locals make a frame of that size,
    most of it cold in the cache. Reusing names keeps only the live ones (a few thousand), and the
    floats freed as names are rebound go back to Python's free list and come out again warm.
    """
    last: dict[str, int] = {}
    for i, line in enumerate(body):
        for name in _VAR.findall(line):
            last[name] = i
    free: list[str] = []
    rename: dict[str, str] = {}
    out = []
    for i, line in enumerate(body):
        if not line.startswith("    v"):
            out.append(_VAR.sub(lambda m: rename[m.group(0)], line))
            continue
        target, expr = line[4:].split(" = ", 1)
        expr = _VAR.sub(lambda m: rename[m.group(0)], expr)
        for name in set(_VAR.findall(line[4 + len(target):])):
            if last[name] == i:  # dead after this line: its register may hold the result
                free.append(rename.pop(name))
        rename[target] = free.pop() if free else f"r{len(rename) + len(free)}"
        out.append(f"    {rename[target]} = {expr}")
    return out


class CompiledGradient:
    """Value and gradient of a traced graph at new input values; see :func:`compile_gradient`."""

    def __init__(self, output, inputs: Sequence, feed: Sequence = ()) -> None:
        self.inputs = list(inputs)
        self.feed = list(feed)
        leaves = self.inputs + self.feed
        if len({id(v) for v in leaves}) != len(leaves):
            raise ValueError("each input (and fed leaf) may appear only once")
        for v in leaves:
            if v.rule is not None:
                raise ValueError("inputs must be leaves of the graph (Values not computed from others)")
        self.order = topological(output)
        self.output = output
        self.nodes = len(self.order)
        self._fn = None
        self._batch_fn = None
        self._constants: dict = {}  # batch length -> the constants as arrays
        self.source, env = self._generate(_CodeMath())
        self._fn = self._build(self.source, env, "_gradient")

    # -- code generation -------------------------------------------------------------------
    def _generate(self, ns: _CodeMath) -> tuple[str, dict]:
        order = self.order
        slot = {id(v): i for i, v in enumerate(self.inputs + self.feed)}
        index = {id(v): k for k, v in enumerate(order)}
        n_in = len(self.inputs)
        live = [False] * len(order)  # depends on an input or a fed leaf
        wants = [False] * len(order)  # depends on an input: its adjoint matters
        for k, node in enumerate(order):
            s = slot.get(id(node))
            if s is not None:
                live[k], wants[k] = True, s < n_in
            elif node.rule is not None:
                kids = [index[id(c)] for c in node.children]
                live[k] = any(live[c] for c in kids)
                wants[k] = any(wants[c] for c in kids)
        value = [""] * len(order)  # source of each node's forward value
        body = []
        for k, node in enumerate(order):
            if not live[k]:
                value[k] = ns.source(node.data)  # a constant, baked in exactly
            elif id(node) in slot:
                value[k] = f"x{slot[id(node)]}"
            else:
                args = [value[index[id(c)]] for c in node.children]
                code = ns.source(_rule_code(ns, node.rule.forward, [_Code(a, ns) for a in args] + list(node.args)))
                value[k] = f"v{k}"
                body.append(f"    v{k} = {code}")
        # The chain rule, in the interpreted engine's order.
        root = len(order) - 1
        adjoint = [""] * len(order)
        adjoint[root] = "1.0"
        owned = set()  # adjoints that are fresh arrays of their own: updated in place (arrays mode)
        for k in range(root, -1, -1):
            node = order[k]
            if not wants[k] or node.rule is None or not adjoint[k]:
                continue
            g = adjoint[k]
            kids = [index[id(c)] for c in node.children]
            z = _Code(value[k], ns)
            args = [_Code(value[c], ns) for c in kids] + list(node.args)
            for i, c in enumerate(kids):
                if not wants[c]:
                    continue
                p = node.rule.partials[i]
                p = p if p.__class__ is float else _rule_code(ns, p, [z, *args])
                # g * p, where g * 1.0 is g and 1.0 * p is p (exact in IEEE arithmetic)
                term = g if _is_one(p) else ns.source(p) if g == "1.0" else f"{g} * {ns.source(p)}"
                if c in owned:
                    body.append(f"    g{c} += {term}")
                elif not adjoint[c] and _NAME.fullmatch(term):
                    adjoint[c] = term  # a copy of another adjoint (or 1.0): no statement
                elif not ns.arrays:
                    # Each partial sum a name of its own (single assignment), so that a sum used
                    # once is written into the next (one expression, the same additions in the
                    # same order) and names are reused once dead (see _inline_single_uses).
                    name = f"v{len(order) + len(body)}"
                    body.append(f"    {name} = ({adjoint[c]} + {term})" if adjoint[c] else f"    {name} = ({term})")
                    adjoint[c] = name
                elif adjoint[c]:
                    body.append(f"    g{c} = {adjoint[c]} + {term}")
                    adjoint[c] = f"g{c}"
                    owned.add(c)
                else:
                    adjoint[c] = f"g{c}"
                    body.append(f"    g{c} = {term}")
                    owned.add(c)
        grads = []
        for v in self.inputs:
            k = index.get(id(v))
            g = adjoint[k] if k is not None and adjoint[k] else ""
            if ns.arrays:  # every column an array of the batch's length
                grads.append(ns.source(float(g or 0.0)) if g in ("", "1.0") else g)
            else:  # the interpreted leaf's .grad after zero_grad(): 0.0 + its sum
                grads.append(f"0.0 + {g}" if g else "0.0")
        body = _inline_single_uses(body, f"    return {value[root]}, [{', '.join(grads)}]")
        if not ns.arrays:
            body = _reuse_names(body)
        names = [f"x{i}" for i in range(len(slot))]
        head = ["def _gradient(values, constants=()):"]
        if names:
            head.append(f"    {', '.join(names)}, = values")
        if ns.constants:
            head.append(f"    {', '.join(f'_c{j}' for j in range(len(ns.constants)))}, = constants")
        return "\n".join([*head, *body]) + "\n", ns.globals

    @staticmethod
    def _build(source: str, env: dict, name: str):
        env = dict(env)
        filename = f"<autodiff.compile {next(_counter)}>"
        exec(compile(source, filename, "exec"), env)
        return env[name]

    # -- running it --------------------------------------------------------------------------
    def __call__(self, values: Sequence[float]):
        """``(value, [d value / d input for each input])`` at new input values (fed leaves' values after them)."""
        if len(values) != len(self.inputs) + len(self.feed):
            raise ValueError(f"expected {len(self.inputs) + len(self.feed)} values, got {len(values)}")
        return self._fn(values)

    def batch(self, rows):
        """The same program over an (n, k) array of inputs: NumPy arrays ``(values[n], grads[n, k])``."""
        import numpy as np
        rows = np.asarray(rows, dtype=np.float64)
        width = len(self.inputs) + len(self.feed)
        if rows.ndim != 2 or rows.shape[1] != width:
            raise ValueError(f"expected an (n, {width}) array, got shape {rows.shape}")
        if self._batch_fn is None:
            ns = _CodeMath(impl=_numpy_impl, arrays=True)
            self.batch_source, env = self._generate(ns)
            self._batch_fn = self._build(self.batch_source, env, "_gradient"), ns.constants
        fn, numbers = self._batch_fn
        n = rows.shape[0]
        constants = self._constants.get(n)
        if constants is None:
            constants = self._constants[n] = [np.full(n, c) for c in numbers]
        columns = list(np.ascontiguousarray(rows.T))  # each input's column, contiguous
        with np.errstate(all="ignore"):
            value, grads = fn(columns, constants)
        grads = np.array(grads).T if grads else np.empty((n, 0))
        return np.array(value, dtype=np.float64), grads


def compile_gradient(output, inputs: Sequence, feed: Sequence = ()) -> CompiledGradient:
    """Trace ``output``'s graph once; the result maps new input values to ``(value, [partials])``.

    ``inputs`` are leaves of the graph, in the order of the values given later. Every other
    leaf is a constant and baked in, unless listed in ``feed``: leaves whose values are given
    after the inputs' on each call but whose partials are not wanted (the data of a batch).
    The graph's structure is fixed at the trace: a function whose graph depends on the values
    (a Python ``if`` on ``.data``) must be traced again where it would branch differently.
    """
    return CompiledGradient(output, inputs, feed)


# -- the batch program's functions: NumPy counterparts of the float namespace --------------------
def _numpy_impl(name, fn):
    """The array function standing for ``FLOAT.<name>``; any function without a NumPy counterpart
    here (or a rule called as it is) runs element by element through the float function itself."""
    import numpy as np
    fast = _numpy_table(np).get(name) if name else None
    if fast is not None:
        return fast
    if name is None:  # a rule's own function, called as fn(FLOAT, *args)
        def rule(m, *args):
            return np.frompyfunc(lambda *a: fn(m, *a), len(args), 1)(*args).astype(np.float64)
        return rule
    ufunc = None

    def elementwise(*args):
        nonlocal ufunc
        if ufunc is None:
            ufunc = np.frompyfunc(fn, len(args), 1)
        return np.asarray(ufunc(*args), dtype=np.float64)
    return elementwise


_TABLE_CACHE: dict = {}


def _numpy_table(np) -> dict:
    if _TABLE_CACHE:
        return _TABLE_CACHE
    where, isnan, isfinite = np.where, np.isnan, np.isfinite

    def mul0(x, y):  # 0 where x is 0 and y is not finite (torch's mask in the pow partials)
        return where(np.equal(x, 0) & ~isfinite(y), 0.0, np.multiply(x, y))

    def relu(x):
        return where((x > 0) | isnan(x), x, 0.0)

    def step(x):
        return where(x > 0, 1.0, where(isnan(x), x, 0.0))

    def sign(x):
        return np.sign(np.asarray(x, dtype=np.float64))

    def heaviside(x, h0):
        return np.heaviside(x, h0)

    def where_positive(x, a, b):  # a for x > 0, b for x <= 0, nan for nan
        return where(x > 0, a, where(x <= 0, b, np.nan))

    def sigmoid(x):
        e = np.exp(-np.abs(x))
        return where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    _TABLE_CACHE.update({
        "div": np.divide, "pow": np.power, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
        "tanh": np.tanh, "abs": np.fabs, "mul0": mul0, "relu": relu, "step": step, "sign": sign,
        "heaviside": heaviside, "where": where_positive, "sigmoid": sigmoid, "sin": np.sin,
        "cos": np.cos, "tan": np.tan, "atan": np.arctan, "log1p": np.log1p,
    })
    return _TABLE_CACHE
