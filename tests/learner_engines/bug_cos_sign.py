"""Value(data, children, op); unary functions go through one helper taking f and f'."""
import math


class Value:
    def __init__(self, data, children=(), op=''):
        self.data = data
        self.grad = 0.0
        self._prev = set(children)
        self._op = op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        assert isinstance(n, (int, float))
        out = Value(self.data ** n, (self,), '**')
        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * other ** -1
    def __radd__(self, other): return self + other
    def __rmul__(self, other): return self * other
    def __rsub__(self, other): return -self + other
    def __rtruediv__(self, other): return other * self ** -1

    def _apply(self, f, df, name):
        out = Value(f(self.data), (self,), name)
        def _backward():
            self.grad += df(self.data) * out.grad
        out._backward = _backward
        return out

    def sin(self):
        return self._apply(math.sin, math.cos, 'sin')

    def cos(self):
        return self._apply(math.cos, math.sin, 'cos')

    def exp(self):
        return self._apply(math.exp, math.exp, 'exp')

    def log(self):
        return self._apply(math.log, lambda x: 1 / x, 'log')

    def tanh(self):
        return self._apply(math.tanh, lambda x: 1 - math.tanh(x) ** 2, 'tanh')

    def sqrt(self):
        return self._apply(math.sqrt, lambda x: 0.5 / math.sqrt(x), 'sqrt')

    def relu(self):
        return self._apply(lambda x: max(x, 0.0), lambda x: float(x > 0), 'relu')

    def backward(self):
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
