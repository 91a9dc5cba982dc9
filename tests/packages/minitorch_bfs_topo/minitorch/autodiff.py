"""The graph walk: what a variable must offer, the saved context, the sort and the backward pass."""
from collections import deque
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
    """Every non-constant node the variable depends on, the variable first: level by level from
    the variable (breadth-first), so each node comes after the node that uses it."""
    order: list[Variable] = []
    seen = {variable.unique_id}
    queue = deque([variable])
    while queue:
        var = queue.popleft()
        order.append(var)
        if var.is_leaf():
            continue
        for parent in var.parents:
            if parent.is_constant() or parent.unique_id in seen:
                continue
            seen.add(parent.unique_id)
            queue.append(parent)
    return order


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
