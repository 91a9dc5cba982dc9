"""Copies of the engine with one planted bug each: the checkers must catch every one."""
import importlib.util
import sys
from pathlib import Path

import autodiff
from autodiff.rules import RULES, Rule

ENGINE_SOURCE = Path(autodiff.__file__).with_name("engine.py").read_text()

# bug name -> (text in engine.py, what replaces it), or a rule-table change
SOURCE_BUGS = {
    "missing-chain-factor": ("b.grad += g * q", "b.grad += q"),
    "overwrite-not-accumulate": ("a.grad += g * p\n                b.grad += g * q",
                                 "a.grad = g * p\n                b.grad = g * q"),
}
RULE_BUGS = {
    "flipped-sign": Rule("cos", RULES["cos"].forward, (lambda m, z, x: m.sin(x),), "cos"),
}
BUGS = tuple(SOURCE_BUGS) + tuple(RULE_BUGS)


def planted_engine(bug: str):
    """A fresh module like autodiff.engine with ``bug`` planted; its ``Value`` is the engine to test."""
    source = ENGINE_SOURCE
    if bug in SOURCE_BUGS:
        old, new = SOURCE_BUGS[bug]
        assert old in source, f"the engine changed: update the planted bug {bug!r}"
        source = source.replace(old, new)
    name = f"autodiff._planted_{bug.replace('-', '_')}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "autodiff"
    sys.modules[name] = module
    exec(compile(source, f"<planted {bug}>", "exec"), module.__dict__)  # our own engine's source, not user input
    if bug in RULE_BUGS:
        rule = RULE_BUGS[bug]
        module._R = {**module._R, rule.name: rule}
    return module
