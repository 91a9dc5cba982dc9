"""Scalar autograd for my MLP homework. Children kept in a list, backward with an explicit stack."""
import math


class Scalar:
    def __init__(self, data, children=(), op=''):
        self.data = float(data)
        self.grad = 0.0
        self.children = list(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Scalar({self.data:.4f}, grad={self.grad:.4f})"

    def __add__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        out = Scalar(self.data + other.data, [self, other], '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        out = Scalar(self.data * other.data, [self, other], '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, p):
        assert isinstance(p, (int, float))
        out = Scalar(self.data ** p, [self], f'**{p}')
        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Scalar(t, [self], 'tanh')
        def _backward():
            # d/dx tanh = 1 - tanh^2
            self.grad += (1 - t) ** 2 * out.grad
        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        out = Scalar(e, [self], 'exp')
        def _backward():
            self.grad += e * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Scalar(math.log(self.data), [self], 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = Scalar(s, [self], 'sigmoid')
        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Scalar(self.data if self.data > 0 else 0.0, [self], 'relu')
        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()
        stack = [(self, iter(self.children))]
        seen.add(id(self))
        while stack:
            node, kids = stack[-1]
            for k in kids:
                if id(k) not in seen:
                    seen.add(id(k))
                    stack.append((k, iter(k.children)))
                    break
            else:
                stack.pop()
                order.append(node)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
