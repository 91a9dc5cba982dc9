"""Node engine with children in `_parents`; log written with math.log10 (base-10 log)."""
import math


class Node:
    def __init__(self, data, _parents=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Node({self.data}, grad={self.grad})"

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Node) else Node(x)

    def __add__(self, other):
        other = Node.wrap(other)
        out = Node(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Node.wrap(other)
        out = Node(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, p):
        assert isinstance(p, (int, float))
        out = Node(self.data ** p, (self,), '**')
        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Node.wrap(other))

    def __truediv__(self, other):
        return self * Node.wrap(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Node.wrap(other) - self

    def __rtruediv__(self, other):
        return Node.wrap(other) / self

    def log(self):
        out = Node(math.log10(self.data), (self,), 'log')
        def _backward():
            self.grad += (1 / self.data) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Node(math.exp(self.data), (self,), 'exp')
        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Node(t, (self,), 'tanh')
        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Node(s, (self,), 'sigmoid')
        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Node(max(0.0, self.data), (self,), 'relu')
        def _backward():
            self.grad += (self.data > 0) * out.grad
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

    def backward(self):
        order, seen = [], set()
        stack = [(self, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if node in seen:
                    continue
                seen.add(node)
            if i < len(node._parents):
                stack.append((node, i + 1))
                child = node._parents[i]
                if child not in seen:
                    stack.append((child, 0))
            else:
                order.append(node)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
