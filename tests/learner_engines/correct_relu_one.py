"""My autograd engine. children kept in a list, topo sort done with an explicit stack (no recursion)."""
import math


class Value:
    def __init__(self, data, children=(), op=''):
        self.data = float(data)
        self.grad = 0.0
        self._children = list(children)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return "Value(%.4f, grad=%.4f)" % (self.data, self.grad)

    @staticmethod
    def _wrap(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value._wrap(other)
        out = Value(self.data + other.data, [self, other], '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        other = Value._wrap(other)
        out = Value(self.data * other.data, [self, other], '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __pow__(self, n):
        assert isinstance(n, (int, float))
        out = Value(self.data ** n, [self], f'^{n}')
        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * Value._wrap(other) ** -1

    def __rtruediv__(self, other):
        return Value._wrap(other) * self ** -1

    def exp(self):
        e = math.exp(self.data)
        out = Value(e, [self], 'exp')
        def _backward():
            self.grad += e * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = Value(math.log(self.data), [self], 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, [self], 'tanh')
        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        return 1 / (1 + (-self).exp())

    def relu(self):
        out = Value(max(0.0, self.data), [self], 'relu')
        def _backward():
            self.grad += (1.0 if self.data >= 0 else 0.0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        # iterative post-order DFS
        order = []
        seen = set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for c in node._children:
                if id(c) not in seen:
                    stack.append((c, False))
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
