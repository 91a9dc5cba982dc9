"""Node(data, children, op) with children in `prev`; visited kept as a list."""
import math


class Node:
    def __init__(self, data, children=(), op=''):
        self.data = data
        self.grad = 0
        self.prev = tuple(children)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Node({self.data}, op={self.op!r})"

    def __add__(self, other):
        if not isinstance(other, Node):
            other = Node(other)
        out = Node(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        if not isinstance(other, Node):
            other = Node(other)
        out = Node(self.data - other.data, (self, other), '-')
        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        if not isinstance(other, Node):
            other = Node(other)
        out = Node(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        if not isinstance(other, Node):
            other = Node(other)
        out = Node(self.data / other.data, (self, other), '/')
        def _backward():
            self.grad += out.grad / other.data
            other.grad += -self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return Node(other) + self

    def __rsub__(self, other):
        return Node(other) - self

    def __rmul__(self, other):
        return Node(other) * self

    def __rtruediv__(self, other):
        return Node(other) / self

    def __neg__(self):
        out = Node(-self.data, (self,), 'neg')
        def _backward():
            self.grad -= out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Node(self.data ** k, (self,), '**')
        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def __abs__(self):
        out = Node(abs(self.data), (self,), 'abs')
        def _backward():
            sign = 1 if self.data > 0 else -1
            self.grad += sign * out.grad
        out._backward = _backward
        return out

    def _unary(self, f, df, name):
        out = Node(f(self.data), (self,), name)
        def _backward():
            self.grad += df(self.data) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        return self._unary(math.exp, math.exp, 'exp')

    def log(self):
        return self._unary(math.log, lambda x: 1 / x, 'log')

    def sin(self):
        return self._unary(math.sin, math.cos, 'sin')

    def cos(self):
        return self._unary(math.cos, lambda x: -math.sin(x), 'cos')

    def tanh(self):
        return self._unary(math.tanh, lambda x: 1 - math.tanh(x) ** 2, 'tanh')

    def sigmoid(self):
        sig = lambda x: 1 / (1 + math.exp(-x))
        return self._unary(sig, lambda x: sig(x) * (1 - sig(x)), 'sigmoid')

    def sqrt(self):
        return self._unary(math.sqrt, lambda x: 0.5 / math.sqrt(x), 'sqrt')

    def relu(self):
        return self._unary(lambda x: x if x > 0 else 0, lambda x: 1 if x > 0 else 0, 'relu')

    def backward(self):
        topo = []
        visited = []
        def visit(n):
            if n in visited:
                return
            visited.append(n)
            for p in n.prev:
                visit(p)
            topo.append(n)
        visit(self)
        self.grad = 1
        for n in topo[::-1]:
            n._backward()
