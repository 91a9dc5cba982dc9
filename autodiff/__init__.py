"""autodiff: a scalar reverse-mode autograd engine whose derivative rules are data."""
from .draw import draw_dot, render_graph
from .engine import Value, grad
from .losses import bce_with_logits, hinge, mse
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Momentum
from .rules import RULES, Rule
from .train import fit, predict

__version__ = "0.1.0"
__all__ = ["MLP", "RULES", "SGD", "Adam", "Layer", "Module", "Momentum", "Neuron", "Rule", "Value",
           "bce_with_logits", "draw_dot", "fit", "grad", "hinge", "mse", "predict", "render_graph"]
