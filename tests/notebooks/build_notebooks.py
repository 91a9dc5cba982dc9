"""Writes the seed-shaped notebooks of this folder (issue 25 fixtures); README.md says what each must give.

    python tests/notebooks/build_notebooks.py     # rewrites the .ipynb files and prints where the slip is

The notebooks are committed; this script is how they were made, so that a change to them is one
edit here. Outputs stay empty and cell ids are fixed, so a rebuild is byte for byte the same.
Cell numbers: "cell N" is the 1-based index among ALL cells (markdown and code), top to bottom,
as the notebook shows them; "line L" is the 1-based line inside that cell's source.
"""
import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

TITLE = """# Backpropagation, implemented

A tiny scalar autograd engine, written after the micrograd lecture: every number is a `Value`
that remembers which values it was made from and how, so that `backward()` can apply the
chain rule from the output back to every input."""

SETUP = """import math
import random

import matplotlib.pyplot as plt
%matplotlib inline"""

SETUP_WITH_SHELL = """!pip install graphviz
import math
import random

%matplotlib inline
%config InlineBackend.figure_format = 'retina'
import matplotlib.pyplot as plt"""

SETUP_RAISES = """from backprop_helpers import draw_dot  # the course's helper file, kept next to the notebook
import math
import random

import matplotlib.pyplot as plt
%matplotlib inline"""

CLASS_MD = """## The `Value` class

Each operation makes a new `Value` whose `_prev` holds its inputs and whose `_backward` adds
the local derivative times `out.grad` to each input's `grad`. `backward()` sorts the graph
topologically and runs every `_backward` from the output down."""

# The class cell; it uses math without importing it (the setup cell does), as the seed does.
# {tanh_rule} is the one line that differs between the right and the slipped notebooks.
CLASS = '''class Value:

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={{self.data}}, grad={{self.grad}})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad
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

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers for now"
        out = Value(self.data ** other, (self,), f'**{{other}}')

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):  # other + self
        return self + other

    def __rmul__(self, other):  # other * self
        return self * other

    def __neg__(self):  # -self
        return self * -1

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __truediv__(self, other):  # self / other
        return self * other ** -1

    def __rtruediv__(self, other):  # other / self
        return other * self ** -1

    def exp(self):
        x = self.data
        out = Value(math.exp(x), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        x = self.data
        out = Value(math.log(x), (self,), 'log')

        def _backward():
            self.grad += (1 / x) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        x = self.data
        t = math.tanh(x)
        out = Value(t, (self,), 'tanh')

        def _backward():
{tanh_rule}
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), 'sigmoid')

        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
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
            node._backward()'''

TANH_RIGHT = "            self.grad += (1 - t ** 2) * out.grad"
TANH_SLIP = "            self.grad += (1 - x ** 2) * out.grad"

EXAMPLE_MD = """## A neuron by hand

The example from the lecture: two inputs, two weights, a bias, and `tanh`. The gradients below
are what `backward()` leaves in each leaf."""

EXAMPLE = """x1 = Value(2.0, label='x1')
x2 = Value(0.0, label='x2')
w1 = Value(-3.0, label='w1')
w2 = Value(1.0, label='w2')
b = Value(6.8813735870195432, label='b')
x1w1 = x1 * w1
x2w2 = x2 * w2
n = x1w1 + x2w2 + b
o = n.tanh()
o.backward()
for v in (x1, w1, x2, w2, b):
    print(f"{v.label}: data={v.data:.4f} grad={v.grad:.4f}")"""

PLOT_MD = """## `tanh` and its derivative

One `Value` per point: the curve is the forward pass, the second curve is what `backward()`
gives as the slope."""

PLOT = """xs = [i / 10 for i in range(-40, 41)]
ys, slopes = [], []
for x in xs:
    v = Value(x)
    y = v.tanh()
    y.backward()
    ys.append(y.data)
    slopes.append(v.grad)
plt.plot(xs, ys, label='tanh(x)')
plt.plot(xs, slopes, label='backward: d/dx tanh(x)')
plt.legend()
plt.grid(True)
plt.show()"""

TRAIN_MD = """## Training one neuron

Gradient descent on a squared error: four points, one `tanh` neuron with two weights."""

TRAIN = """random.seed(0)
xs = [[0.5, -0.3], [-0.4, 0.8], [0.9, 0.2], [-0.7, -0.5]]
ys = [0.5, -0.6, 0.5, -0.4]
w = [Value(random.uniform(-1, 1)) for _ in range(2)]
bias = Value(0.0)
losses = []
for _ in range(40):
    preds = [(w[0] * x[0] + w[1] * x[1] + bias).tanh() for x in xs]
    loss = sum((p - y) ** 2 for p, y in zip(preds, ys))
    for p in (*w, bias):
        p.grad = 0.0
    loss.backward()
    for p in (*w, bias):
        p.data -= 0.2 * p.grad
    losses.append(loss.data)
print(f"loss after {len(losses)} steps: {losses[-1]:.4f}")
plt.plot(losses)
plt.xlabel('step')
plt.ylabel('loss')
plt.show()"""

GRAPH_MD = """## Drawing the graph

`graphviz` draws the computation graph of the neuron above."""

GRAPH = """from graphviz import Digraph


def draw_dot(root):
    dot = Digraph(format='svg', graph_attr={'rankdir': 'LR'})
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    for v in nodes:
        dot.node(str(id(v)), f"{v.label} | data {v.data:.4f} | grad {v.grad:.4f}", shape='record')
        if v._op:
            dot.node(str(id(v)) + v._op, v._op)
            dot.edge(str(id(v)) + v._op, str(id(v)))
    for a, b in edges:
        dot.edge(str(id(a)), str(id(b)) + b._op)
    return dot


draw_dot(o)"""

HELPER_GRAPH_MD = """## The graph

`draw_dot` comes from the course's helper file."""

HELPER_GRAPH = """draw_dot(o)"""

CHECK = """from reference.testing import check_engine

check_engine(Value)"""


def cells_for(setup, class_cell, extra=()):
    return [("md", TITLE), ("code", setup), ("md", CLASS_MD), ("code", class_cell),
            ("md", EXAMPLE_MD), ("code", EXAMPLE), ("md", PLOT_MD), ("code", PLOT),
            ("md", TRAIN_MD), ("code", TRAIN), *extra]


def class_cell(slip):
    return CLASS.format(tanh_rule=TANH_SLIP if slip else TANH_RIGHT)


NOTEBOOKS = {
    # the seed's shape: the class cell uses math, imported by the setup cell
    "right": cells_for(SETUP, class_cell(False)),
    # tanh's rule uses the input x where it needs the output t
    "slip_rule": cells_for(SETUP, class_cell(True)),
    # the class cell uses math, imported only by cell 2 (which also holds a shell line and magics);
    # a cell after the class needs graphviz and must not be run by the loader
    "needs_import": cells_for(SETUP_WITH_SHELL, class_cell(False), [("md", GRAPH_MD), ("code", GRAPH)]),
    # the first code cell imports a module that is not there, before the class exists
    "first_cell_raises": cells_for(SETUP_RAISES, class_cell(False), [("md", HELPER_GRAPH_MD), ("code", HELPER_GRAPH)]),
    # slip_rule plus the whole check from a cell
    "check_in_notebook": cells_for(SETUP, class_cell(True), [("code", CHECK)]),
}


def build(name, cells):
    nb = new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, src) in enumerate(cells, start=1):
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell["id"] = f"{name.replace('_', '-')}-{i}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def where(nb, needle):
    """(cell N, line L), both 1-based, N among all cells, of the first line holding ``needle``."""
    for n, cell in enumerate(nb.cells, start=1):
        for line_no, line in enumerate(cell.source.splitlines(), start=1):
            if needle in line:
                return n, line_no
    return None


def main():
    for name, cells in NOTEBOOKS.items():
        nb = build(name, cells)
        with open(os.path.join(HERE, name + ".ipynb"), "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        classes = [n for n, c in enumerate(nb.cells, start=1) if c.source.startswith("class Value")]
        print(f"{name}.ipynb: {len(nb.cells)} cells, class in cell {classes}, "
              f"tanh rule at cell/line {where(nb, 'self.grad += (1 - ')}, tanh method at {where(nb, 'def tanh')}")
    # slip_rule's class copied into a .py file, as a learner would (issue 25: the same findings)
    slip = build("slip_rule", NOTEBOOKS["slip_rule"])
    copy = "import math\n\n\n" + slip.cells[3].source + "\n"
    with open(os.path.join(HERE, "slip_rule_copy.py"), "w", encoding="utf-8") as fh:
        fh.write('"""slip_rule.ipynb\'s class cell copied into a file (with the import it needs)."""\n' + copy)
    line = next(i for i, t in enumerate(open(os.path.join(HERE, "slip_rule_copy.py")), 1) if TANH_SLIP in t)
    print(f"slip_rule_copy.py: tanh rule at line {line}")
    # not valid JSON: right.ipynb cut off in the middle of the class cell's source
    with open(os.path.join(HERE, "right.ipynb"), encoding="utf-8") as fh:
        text = fh.read()
    cut = text.index("def tanh(self)")
    with open(os.path.join(HERE, "not_json.ipynb"), "w", encoding="utf-8") as fh:
        fh.write(text[:cut])
    print(f"not_json.ipynb: right.ipynb's first {cut} characters of {len(text)}")


if __name__ == "__main__":
    main()
