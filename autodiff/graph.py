"""Walking a computation graph: the public traversal that drawing, tracing and checkers share."""
from __future__ import annotations

__all__ = ["nodes", "topological"]


def topological(root) -> list:
    """Every node reachable from ``root``, each after all of its inputs (iterative, no recursion).

    Works on any object with a ``children`` tuple (this engine's ``Value``).
    """
    order: list = []
    seen = {id(root)}
    stack = [(root, iter(root.children))]
    while stack:
        node, inputs = stack[-1]
        for child in inputs:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child.children)))
                break
        else:
            order.append(node)
            stack.pop()
    return order


def nodes(root) -> list:
    """The same nodes as ``topological``, output first (the order backward visits them)."""
    return topological(root)[::-1]
