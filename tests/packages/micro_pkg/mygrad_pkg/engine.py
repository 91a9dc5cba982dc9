"""Value: a scalar that remembers the graph; backward() runs each node's step from ops.py."""
import math

from .ops import (
    abs_backward,
    add_backward,
    cos_backward,
    exp_backward,
    log_backward,
    mul_backward,
    pow_backward,
    relu_backward,
    sigmoid_backward,
    sin_backward,
    sqrt_backward,
    tanh_backward,
)


class Value:

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        out._backward = lambda: add_backward(self, other, out)
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        out._backward = lambda: mul_backward(self, other, out)
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers"
        out = Value(self.data ** other, (self,), f'**{other}')
        out._backward = lambda: pow_backward(self, other, out)
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')
        out._backward = lambda: exp_backward(self, out)
        return out

    def log(self):
        out = Value(math.log(self.data), (self,), 'log')
        out._backward = lambda: log_backward(self, out)
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), 'tanh')
        out._backward = lambda: tanh_backward(self, out)
        return out

    def sigmoid(self):
        out = Value(1 / (1 + math.exp(-self.data)), (self,), 'sigmoid')
        out._backward = lambda: sigmoid_backward(self, out)
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), 'ReLU')
        out._backward = lambda: relu_backward(self, out)
        return out

    def sin(self):
        out = Value(math.sin(self.data), (self,), 'sin')
        out._backward = lambda: sin_backward(self, out)
        return out

    def cos(self):
        out = Value(math.cos(self.data), (self,), 'cos')
        out._backward = lambda: cos_backward(self, out)
        return out

    def sqrt(self):
        out = Value(math.sqrt(self.data), (self,), 'sqrt')
        out._backward = lambda: sqrt_backward(self, out)
        return out

    def __abs__(self):
        out = Value(abs(self.data), (self,), 'abs')
        out._backward = lambda: abs_backward(self, out)
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
