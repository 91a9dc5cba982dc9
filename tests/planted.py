"""This engine with one planted bug at a time: the checkers must catch every one.

``planted(bug)`` is a context manager yielding the Value class with the bug in place, undone on
exit. A wrong registry row goes in through the public ``autodiff.rules.override``. A slip in the
chain rule itself (a dropped upstream factor, ``=`` for ``+=``) is no row: it is planted as
``Value.backward`` replaced by the lecture's chain rule, written out below with the slip, reading
each node's partials from its row through the public ``Rule.partial``.
"""
from collections.abc import Callable
from contextlib import contextmanager

from autodiff import Value, graph, rules


def _backward_with(step: Callable) -> Callable:
    """``Value.backward`` as the lecture writes it, with ``step(node, i, child, partial)`` as the local step."""
    def backward(self, gradient: float = 1.0) -> None:
        nodes = graph.topological(self)
        for node in nodes:
            if node.rule is not None:
                node.grad = 0.0  # an interior gradient is this pass's; leaves accumulate
        self.grad += float(gradient)
        for node in reversed(nodes):
            if node.rule is not None:
                args = [child.data for child in node.children] + list(node.args)
                for i, child in enumerate(node.children):
                    step(node, i, child, node.rule.partial(i, rules.FLOAT, node.data, *args))
    return backward


def _missing_chain_factor(node, i, child, partial):
    # mul's second input loses the upstream gradient: b.grad += x instead of g * x
    child.grad += partial if node.op == "mul" and i == 1 else node.grad * partial


def _overwrite_not_accumulate(node, i, child, partial):
    child.grad = node.grad * partial


STEP_BUGS = {"missing-chain-factor": _missing_chain_factor, "overwrite-not-accumulate": _overwrite_not_accumulate}
RULE_BUGS = {"flipped-sign": rules.replaced("cos", partials=(lambda m, z, x: m.sin(x),))}
BUGS = tuple(STEP_BUGS) + tuple(RULE_BUGS)


@contextmanager
def planted(bug: str):
    """The engine's Value class with ``bug`` in place, for the duration of the block."""
    if bug in RULE_BUGS:
        with rules.override(RULE_BUGS[bug]):
            yield Value
        return
    honest = Value.backward
    Value.backward = _backward_with(STEP_BUGS[bug])
    try:
        yield Value
    finally:
        Value.backward = honest
