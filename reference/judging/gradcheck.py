"""Checks torch's gradcheck has that need no oracle, for any micrograd-style Value class.

- ``reentrant``: ``backward()`` twice on the same graph (every node's ``.grad`` zeroed in
  between) gives the same gradients, bit for bit (torch's ``nondet_tol=0``).
- ``zero upstream``: a zero upstream gradient gives zero input gradients. With
  ``backward(gradient=0.0)`` when the class takes it, else by ``(out * 0.0).backward()`` (the
  check is then on every node below the product): a rule that forgets to multiply by its
  upstream gradient (a missing chain factor) adds its bare partial and is caught, with no oracle.
- ``linear``: ``backward(gradient=g)`` gives g times the gradient of ``backward()``. Skipped, with
  the reason, for a class whose ``backward`` takes no gradient.

Each check says pass, fail or skip in one sentence. Points should be ordinary (finite partials):
at an inf or nan partial, 0 * inf is nan and the zero check would fail for the float semantics.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from reference.corpus.cases import Case

PASS, FAIL, SKIP = "pass", "fail", "skip"
SCALE = 2.5  # exactly representable, and x * 2.5 is exact for most x: the linear check allows 4 ulp


@dataclass
class Check:
    name: str
    status: str
    why: str

    @property
    def ok(self) -> bool:
        return self.status != FAIL


class ClassMath:
    """The namespace ``m`` a case runs on for a Value class: ``m.tanh(x)`` is ``x.tanh()``."""

    def __init__(self, cls) -> None:
        self.cls = cls

    def __getattr__(self, name):
        cls = self.cls

        def call(x, *rest):
            x = x if isinstance(x, cls) else cls(x)
            return getattr(x, name)(*rest)
        return call


def _nodes(root) -> list:
    seen, stack, out = set(), [root], []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        kids = getattr(n, "_prev", None)
        if kids is None:
            kids = getattr(n, "children", ())
        stack.extend(kids)
    return out


def _build(cls, case: Case, point: Sequence[float]):
    xs = [cls(float(v)) for v in point]
    out = case.fn(ClassMath(cls), *xs)
    if not isinstance(out, cls):
        raise TypeError("the case is constant for this class: nothing to backpropagate")
    return xs, out


def _zero(root) -> None:
    for n in _nodes(root):
        n.grad = 0.0


def _takes_gradient(out) -> bool:
    try:
        params = inspect.signature(out.backward).parameters
    except (TypeError, ValueError):
        return False
    return "gradient" in params or len(params) >= 1


def _same(a: list[float], b: list[float]) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(a, b))


def api_checks(cls, case: Case, point: Sequence[float]) -> list[Check]:
    """The three checks for ``cls`` (a Value class) on ``case`` at ``point``."""
    checks = []
    try:
        xs, out = _build(cls, case, point)
    except Exception as err:  # cls is the engine under test: whatever it raises, the checks cannot apply
        why = f"the case could not be built with {getattr(cls, '__name__', cls)}: {type(err).__name__}: {err}"
        return [Check(n, SKIP, why) for n in ("reentrant", "zero upstream", "linear")]
    gradient = _takes_gradient(out)
    # reentrant
    _zero(out)
    out.backward()
    first = [float(x.grad) for x in xs]
    _zero(out)
    out.backward()
    second = [float(x.grad) for x in xs]
    if _same(first, second):
        checks.append(Check("reentrant", PASS, "backward() twice on the same graph gives the same gradients"))
    else:
        checks.append(Check("reentrant", FAIL, f"backward() twice on the same graph (grads zeroed in between) gives "
                                               f"{first} then {second}"))
    # zero upstream
    if gradient:
        _zero(out)
        out.backward(gradient=0.0) if "gradient" in inspect.signature(out.backward).parameters else out.backward(0.0)
        how = "backward(gradient=0.0)"
    else:
        zeroed = out * 0.0
        _zero(zeroed)
        zeroed.backward()
        how = "(out * 0.0).backward()"
    got = [float(x.grad) for x in xs]
    if all(g == 0 for g in got):
        checks.append(Check("zero upstream", PASS, f"{how} leaves every input gradient 0"))
    else:
        checks.append(Check("zero upstream", FAIL, f"{how} gives input gradients {got}: some rule adds its partial "
                                                   "without the upstream gradient (a missing chain factor)"))
    # linear
    if not gradient:
        checks.append(Check("linear", SKIP, "backward() takes no gradient argument, so scaling by an upstream "
                                            "gradient cannot be checked"))
        return checks
    _zero(out)
    out.backward(SCALE) if "gradient" not in inspect.signature(out.backward).parameters else out.backward(
        gradient=SCALE)
    scaled = [float(x.grad) for x in xs]
    off = [(a, b) for a, b in zip(scaled, first) if not (a == SCALE * b or (a != a and b != b) or (
        math.isfinite(a) and math.isfinite(b) and abs(a - SCALE * b) <= 4 * 2.0 ** -52 * abs(SCALE * b)))]
    if off:
        checks.append(Check("linear", FAIL, f"backward(gradient={SCALE}) gives {scaled}, not {SCALE} x {first}"))
    else:
        checks.append(Check("linear", PASS, f"backward(gradient={SCALE}) gives {SCALE} x the gradient"))
    return checks


__all__ = ["FAIL", "PASS", "SKIP", "Check", "ClassMath", "api_checks"]
