"""Node-based autodiff for a tiny classifier; log is made safe for the cross-entropy loss."""
import math

EPS = 1e-15


class Node:
    def __init__(self, data, parents=(), op=''):
        self.data = data
        self.grad = 0.0
        self.parents = list(parents)
        self.op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Node({self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data + other.data, [self, other], 'add')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data * other.data, [self, other], 'mul')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    __rmul__ = __mul__

    def __pow__(self, p):
        assert isinstance(p, (int, float))
        out = Node(self.data ** p, [self], 'pow')
        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def log(self):
        # clip so that log(0) doesn't blow up the loss when a probability hits 0
        out = Node(math.log(max(self.data, EPS)), [self], 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def exp(self):
        out = Node(math.exp(self.data), [self], 'exp')
        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Node(t, [self], 'tanh')
        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Node(s, [self], 'sigmoid')
        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Node(0.0 if self.data < 0 else self.data, [self], 'relu')
        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        out = Node(math.sqrt(self.data), [self], 'sqrt')
        def _backward():
            self.grad += 0.5 * out.grad / out.data
        out._backward = _backward
        return out

    def __abs__(self):
        out = Node(abs(self.data), [self], 'abs')
        def _backward():
            if self.data > 0:
                self.grad += out.grad
            elif self.data < 0:
                self.grad -= out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        seen = set()
        def build(n):
            if n in seen:
                return
            seen.add(n)
            for p in n.parents:
                build(p)
            topo.append(n)
        build(self)
        self.grad = 1.0
        for n in reversed(topo):
            n._backward()
