"""Node engine, children stored in `prev` (a set), division has its own rule."""
import math


class Node:
    def __init__(self, data, children=(), op=''):
        self.data = data
        self.grad = 0.0
        self.prev = set(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Node({self.data})"

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data / other.data, (self, other), '/')
        def _backward():
            self.grad += (1 / other.data) * out.grad
            other.grad += (self.data / other.data ** 2) * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        assert isinstance(n, (int, float))
        out = Node(self.data ** n, (self,), f'**{n}')
        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return -self + other

    def __rtruediv__(self, other):
        return Node(other) / self

    def exp(self):
        out = Node(math.exp(self.data), (self,), 'exp')
        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Node(math.log(self.data), (self,), 'log')
        def _backward():
            self.grad += 1 / self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Node(t, (self,), 'tanh')
        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def sin(self):
        out = Node(math.sin(self.data), (self,), 'sin')
        def _backward():
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def cos(self):
        out = Node(math.cos(self.data), (self,), 'cos')
        def _backward():
            self.grad += -math.sin(self.data) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        out = Node(math.sqrt(self.data), (self,), 'sqrt')
        def _backward():
            self.grad += 1 / (2 * math.sqrt(self.data)) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        order = []
        seen = set()
        def walk(n):
            if n not in seen:
                seen.add(n)
                for c in n.prev:
                    walk(c)
                order.append(n)
        walk(self)
        self.grad = 1.0
        for n in reversed(order):
            n._backward()
