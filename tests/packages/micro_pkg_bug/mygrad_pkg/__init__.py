"""A micrograd-style engine split over two modules: the Value class (engine.py) and the local
backward steps it calls (ops.py). Written for adcheck's tests."""
from .engine import Value

__all__ = ["Value"]
