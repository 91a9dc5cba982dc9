"""How a number is written, everywhere adcheck writes one: one formatter, a precision per use."""
from __future__ import annotations

import math

__all__ = ["fmt"]


def fmt(x, digits: int = 6) -> str:
    """``x`` with ``digits`` significant digits ('' for None; text such as 'nan' passes through);
    a whole number keeps one decimal (2.0), so it still reads as a float."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, float) and math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)
