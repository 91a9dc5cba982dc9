"""The local backward step of each op: add the input's share of out.grad to the input's grad.

Each function is called by the node it belongs to (``out._backward``), with that node's inputs
and the node itself.
"""
import math


def add_backward(a, b, out):
    a.grad += out.grad
    b.grad += out.grad


def mul_backward(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def pow_backward(a, n, out):
    a.grad += n * a.data ** (n - 1) * out.grad


def exp_backward(a, out):
    a.grad += out.data * out.grad


def log_backward(a, out):
    a.grad += out.grad / a.data


def tanh_backward(a, out):
    a.grad += (1 - out.data ** 2) * out.grad


def sigmoid_backward(a, out):
    a.grad += out.data * (1 - out.data) * out.grad


def relu_backward(a, out):
    a.grad += (a.data > 0) * out.grad


def sin_backward(a, out):
    a.grad += math.cos(a.data) * out.grad


def cos_backward(a, out):
    a.grad += -math.sin(a.data) * out.grad


def sqrt_backward(a, out):
    a.grad += 0.5 / a.data * out.grad


def abs_backward(a, out):
    if a.data > 0:
        a.grad += out.grad
    elif a.data < 0:
        a.grad -= out.grad
