"""autodiff: a scalar reverse-mode autograd engine whose derivative rules are data."""
from .draw import draw_dot, render_graph
from .engine import Value, grad
from .losses import bce_with_logits, hinge, mse
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Momentum
from .rules import RULES, Rule
from .train import fit, predict

__version__ = "0.1.0"
__all__ = ["Value", "grad", "Module", "Neuron", "Layer", "MLP", "SGD", "Momentum", "Adam", "fit", "predict",
           "draw_dot", "render_graph", "mse", "bce_with_logits", "hinge", "RULES", "Rule"]
