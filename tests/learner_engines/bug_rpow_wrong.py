"""Value with a list of children and my own __rpow__ so that 2 ** x works (for a softmax with base 2)."""
import math


class Value:
    def __init__(self, data, children=(), op=''):
        self.data = float(data)
        self.grad = 0.0
        self._prev = list(children)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data!r})"

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value.wrap(other)
        out = Value(self.data + other.data, [self, other], '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value.wrap(other)
        out = Value(self.data * other.data, [self, other], '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "exponent must be a plain number"
        out = Value(self.data ** other, [self], f'**{other}')
        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def __rpow__(self, other):
        # 2 ** x
        return self ** other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return Value.wrap(other) - self

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return Value.wrap(other) * self ** -1

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
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = Value(s, [self], 'sigmoid')
        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, [self], 'relu')
        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
        out._backward = _backward
        return out

    def sqrt(self):
        r = math.sqrt(self.data)
        out = Value(r, [self], 'sqrt')
        def _backward():
            self.grad += out.grad / (2 * r)
        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()
        def visit(v):
            if id(v) in seen:
                return
            seen.add(id(v))
            for c in v._prev:
                visit(c)
            topo.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
