"""Autograd with the nonlinearities as functions, numpy-style: tanh(x), exp(x), sigmoid(x) instead of x.tanh()."""
import math


class Var:
    def __init__(self, data, prev=(), op=''):
        self.data = data
        self.grad = 0.0
        self.prev = tuple(prev)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Var({self.data:.4g})"

    def __add__(self, other):
        other = var(other)
        out = Var(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = var(other)
        out = Var(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        if isinstance(n, Var):
            raise TypeError("exponent must be a number, not a Var")
        out = Var(self.data ** n, (self,), '**')
        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-var(other))

    def __rsub__(self, other):
        return var(other) - self

    def __truediv__(self, other):
        return self * var(other) ** -1

    def __rtruediv__(self, other):
        return var(other) / self

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        topo = []
        visited = set()
        def build(v):
            if v not in visited:
                visited.add(v)
                for p in v.prev:
                    build(p)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


def var(x):
    return x if isinstance(x, Var) else Var(x)


def exp(x):
    x = var(x)
    out = Var(math.exp(x.data), (x,), 'exp')
    def _backward():
        x.grad += out.data * out.grad
    out._backward = _backward
    return out


def log(x):
    x = var(x)
    out = Var(math.log(x.data), (x,), 'log')
    def _backward():
        x.grad += out.grad / x.data
    out._backward = _backward
    return out


def tanh(x):
    x = var(x)
    t = math.tanh(x.data)
    out = Var(t, (x,), 'tanh')
    def _backward():
        x.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out


def sigmoid(x):
    x = var(x)
    s = 1 / (1 + math.exp(-x.data))
    out = Var(s, (x,), 'sigmoid')
    def _backward():
        x.grad += s * (1 + s) * out.grad
    out._backward = _backward
    return out


def relu(x):
    x = var(x)
    out = Var(x.data if x.data > 0 else 0.0, (x,), 'relu')
    def _backward():
        x.grad += (x.data > 0) * out.grad
    out._backward = _backward
    return out


def sin(x):
    x = var(x)
    out = Var(math.sin(x.data), (x,), 'sin')
    def _backward():
        x.grad += math.cos(x.data) * out.grad
    out._backward = _backward
    return out


def cos(x):
    x = var(x)
    out = Var(math.cos(x.data), (x,), 'cos')
    def _backward():
        x.grad += -math.sin(x.data) * out.grad
    out._backward = _backward
    return out
