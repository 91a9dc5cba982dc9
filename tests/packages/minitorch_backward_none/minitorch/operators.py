"""Plain float functions: the forwards, and the *_back helpers that multiply a local derivative by d."""
import math


def mul(x: float, y: float) -> float:
    return x * y


def add(x: float, y: float) -> float:
    return x + y


def neg(x: float) -> float:
    return -x


def inv(x: float) -> float:
    return 1.0 / x


def log(x: float) -> float:
    return math.log(x)


def exp(x: float) -> float:
    return math.exp(x)


def sigmoid(x: float) -> float:
    # the two branches keep exp's argument non-positive, so neither overflows
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    return x if x > 0 else 0.0


def lt(x: float, y: float) -> float:
    return 1.0 if x < y else 0.0


def eq(x: float, y: float) -> float:
    return 1.0 if x == y else 0.0


def mul_back(x: float, y: float, d: float) -> tuple:
    """d(x*y): (y*d, x*d)."""
    return y * d, x * d


def neg_back(x: float, d: float) -> float:
    return -d


def inv_back(x: float, d: float) -> float:
    return -d / (x * x)


def log_back(x: float, d: float) -> float:
    return d / x


def exp_back(x: float, d: float) -> float:
    return math.exp(x) * d


def sigmoid_back(x: float, d: float) -> float:
    s = sigmoid(x)
    return s * (1.0 - s) * d


def relu_back(x: float, d: float) -> float:
    return d if x > 0 else 0.0
