"""SymPy as a backend: its exact derivative evaluated in float64, and the oracle.

The ``sympy`` backend is what a user of SymPy gets: ``sympy.diff`` of the case's expression
(float constants taken exactly, see ``reference.oracle.exact``), evaluated node by node in Python floats
with the operation order of the Python code SymPy's printers write for it (``lambdify`` without
``cse``): the ``math`` module behind IEEE wrappers (``1/0 = inf``, ``log(-1) = nan``), so it gives
the same bits on any x86-64 CPU (no numpy vector paths).

At order 2 it is ``sympy.diff`` twice, evaluated the same way (small graphs only: the ones the
oracle derives with SymPy).

The ``oracle`` backend is the exact answer (``reference.oracle.store``): stored for the corpus,
derived on the fly for anything else; at order 2 the exact Hessian.
"""
from __future__ import annotations

from reference.backends.base import Backend
from reference.core.errors import Unsupported
from reference.oracle.definitions import relu
from reference.oracle.exact import DERIVATIONS, unpack
from reference.oracle.store import exact, oracle_at, route_for, stored_sympy_float
from reference.oracle.sympy_floats import IEEE_MATH, evaluate, float_function, sympy_float

__all__ = ["DERIVATIONS", "IEEE_MATH", "OracleBackend", "SympyBackend", "evaluate", "float_function", "relu",
           "sympy_float"]


class SympyBackend(Backend):
    name = "sympy"
    method = "symbolic (sympy.diff, exact constants), evaluated in float64 node by node over math"
    rtol = 1e-10
    hessian_method = ("sympy.diff twice, evaluated in float64 node by node over math (graphs up to the oracle's "
                      "CHAIN_NODES)")
    hessian_rtol = 1e-10

    def _compute(self, case, point):
        stored = stored_sympy_float(case, point)
        values = stored if stored is not None else sympy_float(case, point)
        return values[0], values[1:1 + len(case.variables)], None

    def _hessian(self, case, point) -> list[list[float]]:
        if route_for(case, point) != "sympy":
            raise Unsupported("SymPy's Hessian of a graph this large is not derived (the oracle uses the exact "
                              "chain rule there)")
        values = sympy_float(case, point, order=2)
        _, _, h = unpack(values, len(case.variables), 2)
        return [list(row) for row in h]


class OracleBackend(Backend):
    name = "oracle"
    method = ("exact (sympy.diff of the case with float constants taken exactly, or the exact chain rule for "
              "large graphs), evaluated with mpmath at rising precision until the rounding is certain")
    rtol = 0.0

    def _compute(self, case, point):
        value, grad, _ = oracle_at(case, point)
        return value, grad, None

    def _hessian(self, case, point) -> list[list[float]]:
        """The exact Hessian: stored for a corpus point, else derived now (NoOracle where it cannot be)."""
        _, _, h = oracle_at(case, point, order=2)
        if h is None:  # stored at order 1 only
            _, _, h = exact(case, point, order=2)
        return [list(row) for row in h]
