"""This engine with one planted bug at a time: the checkers must catch every one.

``planted(bug)`` is a context manager yielding the Value class with the bug in place: a wrong
registry row (through ``autodiff.rules.override``) or a slip in the generated chain-rule steps
(a dropped upstream factor, ``=`` for ``+=``), undone on exit.
"""
from contextlib import contextmanager

from autodiff import Value, engine, rules


def _slip_missing_chain_factor(lines, rule):
    # mul's second input loses the upstream gradient: b.grad += x instead of g * x
    if rule.name != "mul":
        return lines
    return [line.replace("b.grad += g * ", "b.grad += ").replace("d = g * x", "d = x") for line in lines]


def _slip_overwrite(lines, rule):
    return [line.replace(".grad += ", ".grad = ").replace("d if old is None else old + d", "d") for line in lines]


STEP_BUGS = {"missing-chain-factor": _slip_missing_chain_factor, "overwrite-not-accumulate": _slip_overwrite}
RULE_BUGS = {"flipped-sign": rules.replaced("cos", partials=(lambda m, z, x: m.sin(x),))}
BUGS = tuple(STEP_BUGS) + tuple(RULE_BUGS)


@contextmanager
def planted(bug: str):
    """The engine's Value class with ``bug`` in place, for the duration of the block."""
    if bug in RULE_BUGS:
        with rules.override(RULE_BUGS[bug]):
            yield Value
        return
    slip, original = STEP_BUGS[bug], engine._step_body
    engine._step_body = lambda rule, *args: slip(original(rule, *args), rule)
    try:
        engine._generate()
        yield Value
    finally:
        engine._step_body = original
        engine._generate()
