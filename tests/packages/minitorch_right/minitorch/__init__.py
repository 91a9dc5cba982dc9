"""A scalar autodiff package in the layout of MiniTorch's module 1, written for adcheck's tests.

Not MiniTorch's code: the same files, names and shapes a student fills in (operators, autodiff,
scalar_functions, scalar), so that adcheck can be tried on an engine of that shape.
"""
from .autodiff import Context, Variable, backpropagate, topological_sort
from .scalar import Scalar, ScalarHistory
from .scalar_functions import EQ, LT, Add, Exp, Inv, Log, Mul, Neg, ReLU, ScalarFunction, Sigmoid

__all__ = [
    "EQ",
    "LT",
    "Add",
    "Context",
    "Exp",
    "Inv",
    "Log",
    "Mul",
    "Neg",
    "ReLU",
    "Scalar",
    "ScalarFunction",
    "ScalarHistory",
    "Sigmoid",
    "Variable",
    "backpropagate",
    "topological_sort",
]
