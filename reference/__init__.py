"""reference: everything that checks the autodiff engine (SymPy, finite differences, torch)."""
__version__ = "0.1.0"
