"""Value with operators as methods and activations as plain functions: relu(v), tanh(v), exp(v), ln(v)."""
import math


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float))
        out = Value(self.data ** other, (self,), '**')
        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * other ** -1
    def __radd__(self, other): return self + other
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __rtruediv__(self, other): return other * self ** -1

    def backward(self):
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def relu(x):
    out = Value(x.data if x.data > 0 else 0.0, (x,), 'relu')
    def _backward():
        x.grad += (out.data >= 0) * out.grad
    out._backward = _backward
    return out


def tanh(x):
    t = math.tanh(x.data)
    out = Value(t, (x,), 'tanh')
    def _backward():
        x.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out


def exp(x):
    e = math.exp(x.data)
    out = Value(e, (x,), 'exp')
    def _backward():
        x.grad += e * out.grad
    out._backward = _backward
    return out


def ln(x):
    out = Value(math.log(x.data), (x,), 'ln')
    def _backward():
        x.grad += out.grad / x.data
    out._backward = _backward
    return out


def sigmoid(x):
    s = 1 / (1 + math.exp(-x.data))
    out = Value(s, (x,), 'sigmoid')
    def _backward():
        x.grad += s * (1 - s) * out.grad
    out._backward = _backward
    return out
