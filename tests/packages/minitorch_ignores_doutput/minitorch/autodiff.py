"""The graph walk: what a variable must offer, the saved context, the sort and the backward pass."""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class Variable(Protocol):
    """What backpropagate needs from a node of the graph."""

    unique_id: int

    def accumulate_derivative(self, x: Any) -> None:
        ...

    def is_leaf(self) -> bool:
        ...

    def is_constant(self) -> bool:
        ...

    @property
    def parents(self) -> Iterable["Variable"]:
        ...

    def chain_rule(self, d_output: Any) -> Iterable[tuple["Variable", Any]]:
        ...


@dataclass
class Context:
    """Whatever a function's forward keeps for its backward."""

    no_grad: bool = False
    saved_values: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        if self.no_grad:
            return
        self.saved_values = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return self.saved_values


def topological_sort(variable: Variable) -> Iterable[Variable]:
    """Every non-constant node the variable depends on, the variable first: each node comes
    before all the nodes it was computed from (depth-first, reversed post-order)."""
    seen = set()
    post: list[Variable] = []

    def visit(var: Variable) -> None:
        if var.unique_id in seen or var.is_constant():
            return
        seen.add(var.unique_id)
        if not var.is_leaf():
            for parent in var.parents:
                visit(parent)
        post.append(var)

    visit(variable)
    return list(reversed(post))


def backpropagate(variable: Variable, deriv: Any) -> None:
    """Run the chain rule from the right variable with derivative ``deriv``; every leaf that a
    gradient reaches gets it added to ``.derivative``."""
    order = topological_sort(variable)
    derivs: dict[int, Any] = {variable.unique_id: deriv}
    for var in order:
        d = derivs.get(var.unique_id, 0.0)
        if var.is_leaf():
            var.accumulate_derivative(d)
            continue
        for parent, d_parent in var.chain_rule(d):
            if parent.is_constant():
                continue
            derivs[parent.unique_id] = derivs.get(parent.unique_id, 0.0) + d_parent
