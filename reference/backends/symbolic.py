"""SymPy as a backend: its exact derivative evaluated in float64, and the oracle.

The ``sympy`` backend is what a user of SymPy gets: ``sympy.diff`` of the case's expression
(float constants taken exactly, see ``reference.oracle.exact``), evaluated node by node in Python floats
with the operation order of the Python code SymPy's printers write for it (``lambdify`` without
``cse``): the ``math`` module behind IEEE wrappers (``1/0 = inf``, ``log(-1) = nan``), so it gives
the same bits on any x86-64 CPU (no numpy vector paths).

The ``oracle`` backend is the exact answer (``reference.oracle.store``): stored for the corpus,
derived on the fly for anything else.
"""
from __future__ import annotations



from reference.oracle.exact import DERIVATIONS



from reference.oracle.definitions import relu
from reference.oracle.sympy_floats import IEEE_MATH, evaluate, float_function, sympy_float

from reference.backends.base import Backend
from reference.oracle.store import oracle_at
from reference.oracle.store import stored_sympy_float

__all__ = ["DERIVATIONS", "IEEE_MATH", "OracleBackend", "SympyBackend", "evaluate", "float_function", "relu",
           "sympy_float"]


class SympyBackend(Backend):
    name = "sympy"
    method = "symbolic (sympy.diff, exact constants), evaluated in float64 node by node over math"
    rtol = 1e-10

    def _compute(self, case, point):
        stored = stored_sympy_float(case, point)
        values = stored if stored is not None else sympy_float(case, point)
        return values[0], values[1:1 + len(case.variables)], None


class OracleBackend(Backend):
    name = "oracle"
    method = ("exact (sympy.diff of the case with float constants taken exactly, or the exact chain rule for "
              "large graphs), evaluated with mpmath at rising precision until the rounding is certain")
    rtol = 0.0

    def _compute(self, case, point):
        value, grad, _ = oracle_at(case, point)
        return value, grad, None
