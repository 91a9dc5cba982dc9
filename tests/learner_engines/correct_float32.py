"""A 0-d 'tensor' engine on top of numpy float32 (I wanted it to match my GPU code)."""
import numpy as np


class Tensor0:
    def __init__(self, data, _children=(), _op=''):
        self.data = np.float32(data)
        self.grad = np.float32(0.0)
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Tensor0({self.data}, grad={self.grad})"

    def _lift(self, other):
        return other if isinstance(other, Tensor0) else Tensor0(other)

    def __add__(self, other):
        other = self._lift(other)
        out = Tensor0(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = Tensor0(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, p):
        assert isinstance(p, (int, float)), "power must be a number"
        out = Tensor0(self.data ** np.float32(p), (self,), f'**{p}')
        def _backward():
            self.grad += np.float32(p) * self.data ** np.float32(p - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __truediv__(self, other):
        return self * self._lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def exp(self):
        out = Tensor0(np.exp(self.data), (self,), 'exp')
        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Tensor0(np.log(self.data), (self,), 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor0(np.tanh(self.data), (self,), 'tanh')
        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        out = Tensor0(1 / (1 + np.exp(-self.data)), (self,), 'sigmoid')
        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Tensor0(np.maximum(self.data, 0), (self,), 'relu')
        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sin(self):
        out = Tensor0(np.sin(self.data), (self,), 'sin')
        def _backward():
            self.grad += np.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def cos(self):
        out = Tensor0(np.cos(self.data), (self,), 'cos')
        def _backward():
            self.grad -= np.sin(self.data) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        out = Tensor0(np.sqrt(self.data), (self,), 'sqrt')
        def _backward():
            self.grad += out.grad / (2 * out.data)
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()
        def build(v):
            if v not in visited:
                visited.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = np.float32(1.0)
        for v in reversed(topo):
            v._backward()
