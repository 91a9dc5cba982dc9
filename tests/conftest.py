import math


def same_float(a: float, b: float, rtol: float = 1e-12, atol: float = 0.0) -> bool:
    """Equal as doubles: nan matches nan, infinities match by sign, else close."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)
