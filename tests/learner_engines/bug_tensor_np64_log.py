"""Scalar autograd where every number is a 0-d numpy float64 array (data and grad both)."""
import numpy as np


class Tensor:
    def __init__(self, data, children=(), op=''):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros((), dtype=np.float64)
        self.children = list(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Tensor(data={float(self.data):.4f}, grad={float(self.grad):.4f})"

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, [self, other], 'add')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, [self, other], 'mul')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "only scalar exponents"
        out = Tensor(self.data ** n, [self], 'pow')

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return self ** -1 * other

    __radd__ = __add__
    __rmul__ = __mul__

    def exp(self):
        out = Tensor(np.exp(self.data), [self], 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Tensor(np.log(self.data), [self], 'log')

        def _backward():
            self.grad += out.grad / out.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Tensor(np.tanh(self.data), [self], 'tanh')

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        out = Tensor(1.0 / (1.0 + np.exp(-self.data)), [self], 'sigmoid')

        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0.0), [self], 'relu')

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        order = []
        done = set()

        def walk(node):
            if id(node) in done:
                return
            done.add(id(node))
            for ch in node.children:
                walk(ch)
            order.append(node)
        walk(self)

        self.grad = np.ones((), dtype=np.float64)
        for node in reversed(order):
            node._backward()
