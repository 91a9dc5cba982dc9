"""The work done where the engine runs: set-up, probing by form, probe programs and corpus cases.

Every method returns plain data (picklable) or raises; the worker turns exceptions into
findings. A ``Tasks`` object holds one loaded engine and its adapter.
"""
from __future__ import annotations

import math

from reference.core.errors import Unsupported as BackendUnsupported
from reference.subject import ops as _ops
from reference.subject import where as _where
from reference.subject.adapter import _PYTHON_OPERATORS, Adapter, Broken, Lacks, _describe, adcheck_bug
from reference.subject.load import EngineSpec, load


class Unsupported(Exception):
    """Raised by a case that needs an op (in some form) the engine lacks."""


def _backend_unsupported():
    return BackendUnsupported


class SubjectValue:
    """A case's view of an engine node: Python's operators, routed through the adapter's plan."""

    __slots__ = ("_ad", "node")

    def __init__(self, node, adapter):
        self.node = node
        self._ad = adapter


def _binary(symbol: str, reflected: bool):
    def op(self, other):
        ad = self._ad
        info = _ops.by_operator(symbol, with_params=not isinstance(other, SubjectValue))
        if info is None:
            return NotImplemented
        if isinstance(other, SubjectValue):
            out = _apply(ad, info, "V op V", (other.node, self.node) if reflected else (self.node, other.node), ())
        elif isinstance(other, (int, float)):
            if info.params and not reflected:
                out = _apply(ad, info, "V op c", (self.node,), (other,))
            else:
                if info.params:  # c ** V: the op of this operator without a parameter
                    info = _ops.by_operator(symbol, with_params=False)
                form = "c op V" if reflected else "V op c"
                out = _apply(ad, info, form, (other, self.node) if reflected else (self.node, other), ())
        else:
            return NotImplemented
        return SubjectValue(out, ad)
    return op


def _unary(symbol: str):
    def op(self):
        info = _ops.by_operator(symbol, with_params=False)
        return SubjectValue(_apply(self._ad, info, "-V", (self.node,), ()), self._ad)
    return op


for _symbol, (_name, _rname) in _ops.DUNDERS.items():
    if _symbol == "neg":
        setattr(SubjectValue, _name, _unary(_symbol))
        continue
    setattr(SubjectValue, _name, _binary(_symbol, False))
    setattr(SubjectValue, _rname, _binary(_symbol, True))


class NotANode(TypeError):
    """An op of the engine returned something other than one of its nodes (None, a float, a tuple)."""


def _spelled(info, form, how) -> str:
    if info.operator == "neg":
        return "-V (__neg__)"
    if info.operator:
        name, rname = _ops.DUNDERS[info.operator]
        return {"c op V": f"c {info.operator} V ({rname})"}.get(form, f"V {info.operator} "
                                                                f"{'c' if form == 'V op c' else 'V'} ({name})")
    return how.split(":", 1)[-1] or info.method or info.name


def not_a_node(ad, info, form, how, got) -> str:
    """What an op returning something other than a node looks like, in words."""
    what = "None" if got is None else f"a {type(got).__name__}"
    hint = ": a missing `return out`?" if got is None else ""
    return f"{_spelled(info, form, how)} returns {what}, not a {ad.cls.__name__}{hint}"


def _apply(ad, info, form, inputs, params):
    try:
        out = ad.apply(info, form, inputs, params)
    except Lacks as err:
        raise _backend_unsupported()(f"{info.name} ({form}): {err}") from None
    if not ad.is_node(out):
        how = ad.plan.get((info.name, "call"), ("", ""))[1]
        raise NotANode(not_a_node(ad, info, form, how, out))
    trace = getattr(ad, "trace", None)
    if trace is not None:  # Tasks.graph: which node each op of the case made, in order
        trace.append(out)
    return out


class SubjectMath:
    """The namespace ``m`` of a case: ``m.tanh(x)`` and friends, by registry name or alias."""

    def __init__(self, adapter):
        self._ad = adapter

    def __getattr__(self, name):
        info = _ops.by_name(name)
        if info is None or info.operator:
            raise AttributeError(name)
        ad = self._ad

        def call(*args):
            inputs = args[:info.arity]
            params = args[info.arity:]  # none given: the engine's own default (leaky_relu's slope)
            nodes = [a.node if isinstance(a, SubjectValue) else a for a in inputs]
            if not any(isinstance(a, SubjectValue) for a in inputs):
                nodes[0] = ad.leaf(nodes[0])
            form = "call"
            if len(nodes) == 2 and not ad.is_node(nodes[1]):
                form = "call V c"
            elif len(nodes) == 2 and not ad.is_node(nodes[0]):
                nodes[0] = ad.leaf(nodes[0])
            return SubjectValue(_apply(ad, info, form, tuple(nodes), tuple(params)), ad)
        return call


class Tasks:
    """One engine, loaded and adapted."""

    def __init__(self, spec: EngineSpec | None = None, cls: type | None = None, plan=None):
        if cls is None:
            cls, functions = load(spec)
        else:
            functions = None
        options = spec or EngineSpec("", "", cls.__name__)
        self.adapter = Adapter(cls, functions, options.grad_attr, options.backward_method)
        self.adapter.plan.update(plan or {})

    def setup(self) -> dict:
        try:
            found = self.adapter.detect()
        except Broken as err:
            return {"broken": str(err)}
        return found

    def set_plan(self, plan: dict) -> None:
        self.adapter.plan.update(plan)

    # -- probing by form ----------------------------------------------------------------
    def probe_op(self, name: str) -> dict:
        """Each form of one op at its probe point: how it is reached, or why not, and what it gives."""
        info = _ops.ops()[name]
        ad = self.adapter
        out = {}
        primary = info.primary_form
        for form in info.forms:
            out[form] = self._probe_form(info, form, form == primary or form == "call")
            if form == "call" and out[form]["status"] == "ok":
                ad.plan[(name, "call")] = ("native", out[form]["how"])
        return out

    def _inputs(self, info, form):
        x = info.probe
        if form in ("V op V", "call", "-V", "V op c") or info.arity == 1:
            return x
        return x

    def _probe_form(self, info, form, primary: bool) -> dict:
        ad = self.adapter
        pts = info.probe
        params = info.probe_params
        if form in ("V op c", "call V c") and not info.params:
            make = lambda: (ad.leaf(pts[0]), pts[1])
        elif form == "c op V":
            make = lambda: (pts[0], ad.leaf(pts[1]))
        else:
            make = lambda: tuple(ad.leaf(x) for x in pts)
        callers = ad._callers(info) if not info.operator else [""]
        if not callers:
            names = " / ".join(dict.fromkeys(n for n in (info.method, *info.names) if n))
            where = " or in the --functions module" if ad.functions is not None else ""
            return {"status": "lacks", "reason": f"no method {names}{where}"}
        failure = None
        for how in callers:
            if how:
                ad.plan[(info.name, "call")] = ("native", how)
            inputs = make()
            try:
                node = ad.native(info, form, inputs, params)
            except Lacks as err:
                failure = {"status": "lacks", "reason": str(err)}
                continue
            except Exception as err:  # the engine's own code, or Python's dispatch finding no method
                if adcheck_bug(err):
                    raise
                failure = self._construction_failure(info, form, primary, err)
                if failure["status"] == "lacks" and not primary:
                    lifted = self._try_lift(info, form, pts, params)
                    if lifted:
                        lifted["native_reason"] = failure["reason"]
                        return lifted
                continue
            if not ad.is_node(node):
                failure = {"status": "api", "reason": not_a_node(ad, info, form, how, node)}
                continue
            try:
                value = ad.data(node)
            except (TypeError, ValueError, ArithmeticError) as err:
                failure = {"status": "api", "reason": f"{_spelled(info, form, how)} gives a node whose "
                                                      f".{ad.data_attr} is not a number ({_describe(err)})"}
                continue
            result = self._backward(info, node, inputs, value)
            result["how"] = how or "operator"
            return result
        return failure

    def _construction_failure(self, info, form, primary, err) -> dict:
        """Lacking (nothing defined, or a deliberate refusal) or raising (a slip in the learner's code)."""
        ad = self.adapter
        what = _describe(err)
        if not ad.raised_inside(err):  # Python's dispatch found no method for this form
            return {"status": "lacks", "reason": self._missing(info, form) or what}
        if isinstance(err, (NotImplementedError, AssertionError)) or ad.raised_by_statement(err):
            return {"status": "lacks", "reason": f"refuses: {what}"}
        name = ad.cls.__name__
        text = str(err)
        if isinstance(err, TypeError):
            own = f"'{name}'"
            if "unary" in text and own in text:  # -other inside __sub__, with no __neg__: a slip
                return {"status": "raises", "reason": what, "exception": type(err).__name__,
                        "cause": f"{_spelled(info, form, '')} uses an operator {name} does not define"}
            if "unsupported operand" in text and text.count(own) < 2:
                return {"status": "lacks", "reason": f"refuses: {what}"}  # a number where it wants a node
        if isinstance(err, AttributeError) and not primary and f"'{name}'" not in text:
            return {"status": "lacks", "reason": f"refuses: {what}"}  # a plain number where it wants a node
        return {"status": "raises", "reason": what, "exception": type(err).__name__}

    def _missing(self, info, form) -> str:
        if not info.operator:
            return ""
        name, rname = _ops.DUNDERS[info.operator]
        needed = rname if form == "c op V" else name
        if not callable(getattr(self.adapter.cls, needed, None)):
            return f"no {needed}"
        return ""

    def _try_lift(self, info, form, pts, params):
        ad = self.adapter
        try:
            if form == "c op V":
                inputs = (ad.leaf(pts[0]), ad.leaf(pts[1]))
            else:
                inputs = (ad.leaf(pts[0]), ad.leaf(pts[1]))
            node = ad.native(info, "V op V" if info.operator else "call", inputs, params)
            value = ad.data(node)
        except Exception as err:  # lifting does not work on this engine either
            if adcheck_bug(err):
                raise
            return None
        result = self._backward(info, node, inputs, value)
        result["status"] = "lifted" if result["status"] == "ok" else result["status"]
        result["how"] = "lift"
        return result

    def _backward(self, info, node, inputs, value) -> dict:
        ad = self.adapter
        try:
            ad.backward(node)
            grads = [ad.grad(x) if ad.is_node(x) else None for x in inputs]
        except Exception as err:  # the engine's backward
            if adcheck_bug(err):
                raise
            return {"status": "raises", "reason": f"backward raises {_describe(err)}", "exception": type(err).__name__,
                    "value": value, "phase": "backward"}
        return {"status": "ok", "value": value, "grads": grads}

    # -- probe programs -------------------------------------------------------------------
    def run_program(self, program: dict) -> dict:
        """Build a small graph (leaves, then ops on earlier entries), run backward, read every node."""
        ad = self.adapter
        table = _ops.ops()
        entries = [ad.leaf(x) for x in program["leaves"]]
        for op, form, refs, params in program["nodes"]:
            info = table[op]
            inputs = tuple(entries[r] if isinstance(r, int) else r[1] for r in refs)
            out = ad.apply(info, form, inputs, tuple(params))
            if not ad.is_node(out):
                raise NotANode(not_a_node(ad, info, form, ad.plan.get((op, "call"), ("", ""))[1], out))
            entries.append(out)
        root = entries[-1]
        values = [ad.data(e) for e in entries]
        direct = None
        built: list[str] = []
        if ad.children_attr:  # one engine node for the op, or a composition of several?
            kids = ad.children(root)
            inputs = [entries[r] for r in program["nodes"][-1][2] if isinstance(r, int)]
            direct = all(any(k is x for x in inputs) for k in kids) if kids else False
            known = {id(e) for e in entries[:-1]}
            stack, seen = [root], set()
            while stack and len(seen) < 50:  # the nodes the last op made: their own op labels
                node = stack.pop()
                if id(node) in seen or id(node) in known:
                    continue
                seen.add(id(node))
                built.append(ad.op_label(node))
                stack.extend(k for k in ad.children(node) if ad.is_node(k))
        ad.backward(root)
        grads = [ad.grad(e) for e in entries]
        return {"values": values, "grads": grads, "direct": direct, "built": built}

    def locate(self, name, form=None, case=None, point=None) -> dict | None:
        """Where this op's code is in the engine's source (reference.subject.where, issue 24); with ``case`` (a
        corpus case's name) and ``point``, where evaluating it raises."""
        if case is not None:
            return _where.raised_in_case(self, case, point)
        return _where.locate(self.adapter, name, form)

    # -- corpus cases -----------------------------------------------------------------------
    def evaluate(self, case, point) -> tuple[float, list[float]]:
        ad = self.adapter
        xs = [SubjectValue(ad.leaf(x), ad) for x in point]
        out = case.fn(SubjectMath(ad), *xs)
        if not isinstance(out, SubjectValue):
            return float(out), [0.0] * len(xs)
        value = ad.data(out.node)
        ad.backward(out.node)
        return value, [ad.grad(x.node) for x in xs]

    def graph(self, case, point) -> dict:
        """The engine's own graph of a case after backward: per node data, grad, op label and inputs.

        Each node also says which op of the case made it (``step``: the k-th op the case applied,
        the same k for any engine running the same case, so nodes can be paired with another
        engine's) or which variable it is (``variable``); nodes an op made inside the engine (a
        composite op's intermediates, lifted constants) have neither.
        """
        ad = self.adapter
        xs = [SubjectValue(ad.leaf(x), ad) for x in point]
        ad.trace = []
        try:
            out = case.fn(SubjectMath(ad), *xs)
        finally:
            trace, ad.trace = ad.trace, None
        if not isinstance(out, SubjectValue):
            return {"nodes": []}
        ad.backward(out.node)
        order, seen = [], {}
        stack = [(out.node, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen[id(node)] = node
            stack.append((node, True))
            for child in reversed(ad.children(node)):
                if id(child) not in seen:
                    stack.append((child, False))
        index = {id(n): i for i, n in enumerate(order)}
        leaf_ids = {id(x.node): v for x, v in zip(xs, case.variables)}
        steps = {id(n): k for k, n in enumerate(trace)}
        return {"readable": bool(ad.children_attr),
                "nodes": [{"data": _safe(ad.data, n), "grad": _safe(ad.grad, n), "op": ad.op_label(n),
                           "inputs": [index[id(c)] for c in ad.children(n) if id(c) in index],
                           "label": leaf_ids.get(id(n), _label(n)), "variable": leaf_ids.get(id(n)),
                           "step": None if id(n) in leaf_ids else steps.get(id(n))} for n in order]}


def _label(node) -> str:
    try:
        return str(getattr(node, "label", "") or "")
    except Exception as err:  # the engine's label property
        if adcheck_bug(err):
            raise
        return ""


def _safe(fn, node) -> float:
    try:
        return fn(node)
    except Exception as err:  # a node of the engine's whose number cannot be read
        if adcheck_bug(err):
            raise
        return math.nan


_ = _PYTHON_OPERATORS
