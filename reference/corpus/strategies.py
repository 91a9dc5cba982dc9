"""Random expressions over the primitive ops, each op guarded to stay inside its domain.

One grammar serves Hypothesis (``expressions()``, which shrinks a failure to a minimal
expression) and the seeded fuzzer (``random_tree``, deterministic for a seed). A tree is
a tuple ``(op, *children)``; leaves are variable names or number strings.
"""
from __future__ import annotations

import random

from autodiff.rules import RULES

VARIABLES = ("x", "y")
# op -> how its text is made from its children's texts: the registry row's ``guard``, which keeps
# arguments in the domain (log of a positive number, no division by ~0, a positive base...).
TEMPLATES = {rule.name: rule.sampling.guard for rule in RULES.values() if rule.sampling.guard}
ARITY = {op: 2 if "{1}" in t else 1 for op, t in TEMPLATES.items()}


def text(tree) -> str:
    """The expression string of a tree."""
    if isinstance(tree, str):
        return tree
    op, *children = tree
    return TEMPLATES[op].format(*[text(c) for c in children])


def random_tree(rng: random.Random, depth: int = 4):
    """A random tree, at most ``depth`` ops deep."""
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.8:
            return rng.choice(VARIABLES)
        return f"{rng.choice((0.5, 1.5, 2.0, 3.0))}"
    op = rng.choice(sorted(TEMPLATES))
    return (op, *[random_tree(rng, depth - 1) for _ in range(ARITY[op])])


def random_point(rng: random.Random) -> dict[str, float]:
    """Values for x and y: round numbers and arbitrary ones in [-2, 2]."""
    return {v: rng.choice((round(rng.uniform(-2, 2), 3), rng.uniform(-2, 2))) for v in VARIABLES}


def smaller(tree):
    """Trees one step simpler: each child in place of the tree, or one child simplified."""
    if isinstance(tree, str):
        if tree in VARIABLES:
            return []
        return [] if tree == "1.0" else ["1.0"]
    op, *children = tree
    out = [c for c in children]
    for i, child in enumerate(children):
        for simpler in smaller(child):
            out.append((op, *children[:i], simpler, *children[i + 1:]))
    return out


def minimize(tree, still_fails) -> object:
    """Greedily simplify ``tree`` while ``still_fails(tree)`` holds."""
    changed = True
    while changed:
        changed = False
        for candidate in smaller(tree):
            if still_fails(candidate):
                tree, changed = candidate, True
                break
    return tree


def expressions(max_leaves: int = 6):
    """Hypothesis strategy of (expression text, point) pairs."""
    from hypothesis import strategies as st
    leaves = st.sampled_from(VARIABLES) | st.sampled_from(("0.5", "1.5", "2.0", "3.0"))

    def extend(children):
        unary = st.tuples(st.sampled_from([op for op in sorted(TEMPLATES) if ARITY[op] == 1]), children)
        binary = st.tuples(st.sampled_from([op for op in sorted(TEMPLATES) if ARITY[op] == 2]), children, children)
        return unary | binary

    trees = st.recursive(leaves, extend, max_leaves=max_leaves)
    values = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
    return st.tuples(trees.map(text), st.fixed_dictionaries({v: values for v in VARIABLES}))
