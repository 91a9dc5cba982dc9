"""draw_dot on this project's Value and on learners' own classes; the notebook hint without `dot`."""
import math

import pytest

pytest.importorskip("graphviz")

from autodiff import Value, draw_dot
from autodiff.draw import INSTALL_DOT, draw_nodes, graph_nodes, render_graph


class Micro:
    """micrograd's shape: _prev (a set), _op, data, grad, label."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data, self.grad, self._prev, self._op, self.label = data, 0.0, set(_children), _op, label

    def __mul__(self, other):
        return Micro(self.data * other.data, (self, other), "*")

    def __add__(self, other):
        return Micro(self.data + other.data, (self, other), "+")


class Renamed:
    """Another learner's shape: _parents (a list), op, grade."""

    def __init__(self, data, parents=(), op=""):
        self.data, self.grade, self._parents, self.op = data, 0.0, list(parents), op

    def tanh(self):
        return Renamed(math.tanh(self.data), [self], "tanh")


def test_this_projects_value():
    x = Value(2.0, label="x")
    y = (x * x).tanh() + x ** 2
    y.backward()
    source = draw_dot(y).source
    assert source.count("shape=record") == 5 and "tanh" in source and "**2" in source and "{ x |" in source


def test_a_micrograd_style_class():
    a, b = Micro(2.0, label="a"), Micro(-3.0, label="b")
    c = a * b + a
    c.grad, a.grad = 1.0, -2.0
    nodes = graph_nodes(c)
    assert [n["op"] for n in nodes].count("*") == 1 and nodes[-1]["op"] == "+"
    assert len(nodes) == 4 and nodes[-1]["data"] == -4.0
    source = draw_dot(c).source
    assert "{ a | data 2 | grad -2 }" in source and source.count("->") == 2 + 2 + 2


def test_grade_and_parents():
    x = Renamed(0.5)
    y = x.tanh()
    y.grade = 1.0
    source = draw_dot(y).source
    assert "tanh" in source and "grad 1" in source and source.count("shape=record") == 2


def test_true_gradients_beside_and_wrong_ones_red():
    nodes = [{"label": "x", "data": 1.0, "grad": 0.5, "op": "", "inputs": [], "true_grad": 0.42},
             {"label": "out", "data": 0.76, "grad": 1.0, "op": "tanh", "inputs": [0], "true_grad": 1.0}]
    source = draw_nodes(nodes).source
    assert "grad 0.5 (true 0.42)" in source and "grad 1 (true 1)" in source
    assert source.count("#d62728") == 2  # one node, its colour and its font colour


def test_a_deep_graph_is_drawn_without_recursion():
    x = Value(0.1)
    y = x
    for _ in range(5000):
        y = y + 1.0
    assert len(graph_nodes(y)) == 10001  # x, then a constant leaf and a sum per step


def test_without_dot_a_notebook_shows_one_line(monkeypatch, tmp_path):
    x = Value(0.5, label="x")
    graph = draw_dot(x.tanh())
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    bundle = graph._repr_mimebundle_()
    assert bundle == {"text/plain": INSTALL_DOT} and "\n" not in INSTALL_DOT
    with pytest.raises(RuntimeError, match="Graphviz's `dot`"):
        render_graph(x, tmp_path / "g.svg")
    assert render_graph(x, tmp_path / "g.dot").read_text().startswith("digraph")
