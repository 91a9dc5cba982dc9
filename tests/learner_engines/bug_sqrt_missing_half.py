"""Value(data, label) with the label as second argument; sqrt/abs added for my distance function."""
import math


class Value:
    def __init__(self, data, label='', _children=(), _op=''):
        self.data = data
        self.label = label
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"{self.label or 'Value'}({self.data})"

    def _new(self, data, children, op):
        return Value(data, '', children, op)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = self._new(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = self._new(self.data * other.data, (self, other), '*')
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float))
        out = self._new(self.data ** other, (self,), f'**{other}')
        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * other ** -1
    def __radd__(self, other): return self + other
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __rtruediv__(self, other): return other * self ** -1

    def sqrt(self):
        r = math.sqrt(self.data)
        out = self._new(r, (self,), 'sqrt')
        def _backward():
            self.grad += out.grad / r
        out._backward = _backward
        return out

    def __abs__(self):
        out = self._new(abs(self.data), (self,), 'abs')
        def _backward():
            if self.data > 0:
                self.grad += out.grad
            elif self.data < 0:
                self.grad -= out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = self._new(math.exp(self.data), (self,), 'exp')
        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        out = self._new(math.log(self.data), (self,), 'log')
        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = self._new(t, (self,), 'tanh')
        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def sin(self):
        out = self._new(math.sin(self.data), (self,), 'sin')
        def _backward():
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def cos(self):
        out = self._new(math.cos(self.data), (self,), 'cos')
        def _backward():
            self.grad -= math.sin(self.data) * out.grad
        out._backward = _backward
        return out

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
        for node in reversed(topo):
            node._backward()
