"""Neurons, layers and multi-layer perceptrons, shaped like micrograd's."""
from __future__ import annotations

import math
import random
from collections.abc import Sequence

from .engine import Value
from .rules import RULES

__all__ = ["ACTIVATIONS", "MLP", "Layer", "Module", "Neuron"]

# Activation name -> the name of the Value method that applies it (any one-input op of the
# registry, looked up on Value at call time so that a replaced row is used), or None for none.
ACTIVATIONS = {
    **{r.spelling.method: r.spelling.method for r in RULES.values() if r.spelling.method and r.arity == 1},
    "identity": None,
    "linear": None,
}


def _activation(name: str) -> str | None:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


class Module:
    """Anything with parameters."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(w . x + b), initialised like torch.nn.Linear: U(-1/sqrt(nin), 1/sqrt(nin))."""

    def __init__(self, nin: int, activation: str = "tanh", seed: int | random.Random | None = None) -> None:
        rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        bound = 1.0 / math.sqrt(nin)
        self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(rng.uniform(-bound, bound))
        self.activation = activation
        self._act = _activation(activation)

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"neuron takes {len(self.w)} inputs, got {len(x)}")
        # b + w0*x0 + w1*x1 + ..., as sum() would: act = act + wi * xi, each pair of nodes made
        # in one call (generated from the add and mul rows; numbers go through the operators).
        mul_add = Value._mul_add
        act = self.b
        for wi, xi in zip(self.w, x):
            act = mul_add(act, wi, xi)
        return act if self._act is None else getattr(Value, self._act)(act)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same inputs."""

    def __init__(self, nin: int, nout: int, activation: str = "tanh", seed: int | random.Random | None = None) -> None:
        rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, x: Sequence):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts``; hidden layers use ``activation``, the last is linear."""

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "tanh", seed: int = 0) -> None:
        _activation(activation)
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else "identity", rng)
            for i in range(len(nouts))
        ]
        self.activation = activation

    def __call__(self, x: Sequence):
        # Numbers become leaves once here, not once per neuron that reads them.
        x = [xi if isinstance(xi, Value) else Value(xi) for xi in x] if isinstance(x, (list, tuple)) else x
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
