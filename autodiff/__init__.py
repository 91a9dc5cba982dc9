"""autodiff: a scalar reverse-mode autograd engine whose derivative rules are data."""
from . import graph
from .compile import CompiledGradient, compile_gradient
from .draw import draw_dot, render_graph
from .engine import VALUE_MATH, Value, grad
from .forward import jvp
from .losses import bce_with_logits, hinge, mse
from .nn import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, Momentum
from .rules import RULES, Rule
from .train import collector_paused, fit, predict

__version__ = "0.1.0"
__all__ = ["MLP", "RULES", "SGD", "VALUE_MATH", "Adam", "CompiledGradient", "Layer", "Module", "Momentum", "Neuron",
           "Rule", "Value", "bce_with_logits", "collector_paused", "compile_gradient", "draw_dot", "fit", "grad",
           "graph", "hinge", "jvp", "mse", "predict", "render_graph"]
