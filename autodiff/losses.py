"""Losses over lists of predictions and targets; each returns one Value (the mean)."""
from __future__ import annotations

from collections.abc import Sequence

from .engine import Value

__all__ = ["LOSSES", "bce_with_logits", "hinge", "mse"]


def _pairs(predictions, targets) -> list:
    if isinstance(predictions, Value):
        predictions = [predictions]
    if not isinstance(targets, (list, tuple)):
        targets = [targets]
    if len(predictions) != len(targets) or not predictions:
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    return list(zip(predictions, targets))


def _mean(terms: list) -> Value:
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


def mse(predictions: Sequence, targets: Sequence) -> Value:
    """Mean squared error."""
    return _mean([(p - t) ** 2 for p, t in _pairs(predictions, targets)])


def bce_with_logits(logits: Sequence, targets: Sequence) -> Value:
    """Binary cross-entropy of sigmoid(logit) against targets in [0, 1], computed stably."""
    return _mean([z.softplus() - z * t for z, t in _pairs(logits, targets)])


def hinge(scores: Sequence, targets: Sequence) -> Value:
    """Mean of max(0, 1 - t * s) for targets t in {-1, +1} (micrograd's max-margin loss)."""
    return _mean([(1.0 - s * t).relu() for s, t in _pairs(scores, targets)])


LOSSES = {"mse": mse, "bce": bce_with_logits, "bce_with_logits": bce_with_logits, "hinge": hinge}
