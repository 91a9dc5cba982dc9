"""Operators live on Value; the math functions are plain functions: exp(v), ln(v), tanh(v), ..."""
import math


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._children = tuple(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data:.4f})"

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), '+')
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
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

    def __abs__(self):
        out = Value(abs(self.data), (self,), 'abs')
        def _backward():
            self.grad += (1 if self.data > 0 else -1 if self.data < 0 else 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * _as_value(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    def backward(self):
        order = []
        seen = set()
        def dfs(v):
            if v in seen:
                return
            seen.add(v)
            for c in v._children:
                dfs(c)
            order.append(v)
        dfs(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def _as_value(x):
    return x if isinstance(x, Value) else Value(x)


def _unary(x, value, local_grad, name):
    x = _as_value(x)
    out = Value(value, (x,), name)
    def _backward():
        x.grad += local_grad * out.grad
    out._backward = _backward
    return out


def exp(x):
    x = _as_value(x)
    e = math.exp(x.data)
    return _unary(x, e, e, 'exp')


def ln(x):
    x = _as_value(x)
    return _unary(x, math.log(x.data), 1 / x.data, 'ln')


def tanh(x):
    x = _as_value(x)
    t = math.tanh(x.data)
    return _unary(x, t, 1 - t * t, 'tanh')


def sigmoid(x):
    x = _as_value(x)
    s = 1 / (1 + math.exp(-x.data))
    return _unary(x, s, s * (1 - s), 'sigmoid')


def relu(x):
    x = _as_value(x)
    return _unary(x, max(x.data, 0), 1.0 if x.data > 0 else 0.0, 'relu')


def sin(x):
    x = _as_value(x)
    return _unary(x, math.sin(x.data), math.cos(x.data), 'sin')


def cos(x):
    x = _as_value(x)
    return _unary(x, math.cos(x.data), -math.sin(x.data), 'cos')


def sqrt(x):
    x = _as_value(x)
    r = math.sqrt(x.data)
    return _unary(x, r, 0.5 / r, 'sqrt')
