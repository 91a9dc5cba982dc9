"""Node-based engine: Node(data, children, op), children in `_children`, unary ops share one pattern."""
import math


class Node:
    def __init__(self, data, children=(), op=''):
        self.data = float(data)
        self.grad = 0.0
        self._children = tuple(children)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Node(data={self.data:.5f}, grad={self.grad:.5f}, op='{self._op}')"

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

    def __pow__(self, n):
        assert isinstance(n, (int, float)), "exponent must be a plain number"
        out = Node(self.data ** n, (self,), '**')
        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return (-self) + other

    def __rtruediv__(self, other):
        return Node(other) * self ** -1

    def exp(self):
        out = Node(math.exp(self.data), (self,), 'exp')
        def _backward():
            self.grad += self.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Node(math.log(self.data), (self,), 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        out = Node(math.tanh(self.data), (self,), 'tanh')
        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        out = Node(1 / (1 + math.exp(-self.data)), (self,), 'sigmoid')
        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Node(max(self.data, 0.0), (self,), 'relu')
        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        out = Node(math.sqrt(self.data), (self,), 'sqrt')
        def _backward():
            self.grad += 0.5 * self.data ** -0.5 * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()
        def build(node):
            if node in visited:
                return
            visited.add(node)
            for child in node._children:
                build(child)
            topo.append(node)
        build(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
