"""Scalar(data, label) with gradients in .grade and backwardpropagation(); prints each step."""
import math


class Scalar:
    def __init__(self, data, label='', _parents=(), _op=''):
        self.data = data
        self.label = label
        self.grade = 0.0
        self._parents = _parents
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Scalar({self.label or '?'}={self.data}, grade={self.grade})"

    def __add__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        out = Scalar(self.data + other.data, '', (self, other), '+')
        def _backward():
            self.grade += out.grade
            other.grade += out.grade
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        out = Scalar(self.data * other.data, '', (self, other), '*')
        def _backward():
            self.grade += other.data * out.grade
            other.grade += self.data * out.grade
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = Scalar(self.data ** other, '', (self,), '**')
        def _backward():
            self.grade += other * self.data ** (other - 1) * out.grade
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

    def __rsub__(self, other):
        return -self + other

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Scalar(other) / self

    def exp(self):
        out = Scalar(math.exp(self.data), '', (self,), 'exp')
        def _backward():
            self.grade += out.data * out.grade
        out._backward = _backward
        return out

    def log(self):
        out = Scalar(math.log(self.data), '', (self,), 'log')
        def _backward():
            self.grade += out.grade / self.data
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Scalar(t, '', (self,), 'tanh')
        def _backward():
            self.grade += (1 - t ** 2) * out.grade
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Scalar(s, '', (self,), 'sigmoid')
        def _backward():
            self.grade += s * (1 - s) * out.grade
        out._backward = _backward
        return out

    def relu(self):
        out = Scalar(self.data if self.data > 0 else 0.0, '', (self,), 'relu')
        def _backward():
            self.grade += (0.0 if self.data <= 0 else 1.0) * out.grade
        out._backward = _backward
        return out

    def backwardpropagation(self):
        nodes = []
        visited = set()
        stack = [self]
        while stack:
            node = stack[-1]
            pending = [p for p in node._parents if p not in visited]
            if pending:
                stack.append(pending[0])
                visited.add(pending[0])
            else:
                stack.pop()
                if node not in nodes:
                    nodes.append(node)
                visited.add(node)
        self.grade = 1.0
        for node in reversed(nodes):
            print("backward through", node._op or 'leaf', node.data, "grade", node.grade)
            node._backward()
