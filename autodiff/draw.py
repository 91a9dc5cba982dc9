"""Graphviz pictures of a computation graph (needs the graphviz package and ``dot``).

``draw_dot`` draws this project's ``Value`` and any micrograd-style object: children in
``_prev``, ``prev``, ``_children``, ``children``, ``_parents`` or ``parents``; the op in ``_op``
or ``op``; ``data``; the gradient in ``grad`` (or ``grade``); ``label``. ``draw_nodes`` draws a
graph given as plain records, with a true gradient beside each node's own (wrong ones in red).
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

__all__ = ["draw_dot", "draw_nodes", "graph_nodes", "render_graph", "write_graph"]

INSTALL_PACKAGE = "drawing needs the graphviz Python package: pip install graphviz"
INSTALL_DOT = ("drawing needs Graphviz's `dot` program: apt-get install graphviz "
               "(Debian/Ubuntu), brew install graphviz (macOS) or conda install graphviz")
CHILDREN = ("_prev", "prev", "_children", "children", "_parents", "parents")
OPS = ("_op", "op")
GRADS = ("grad", "grade", "gradient")
WRONG = "#d62728"
FORMATS = ("svg", "png", "pdf", "dot", "gv")


def _fmt(x) -> str:
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return "?"


def _attr(node, names, default=None):
    for name in names:
        try:
            got = getattr(node, name)
        except Exception:
            continue
        if got is not None:
            return got
    return default


def _children(node) -> list:
    from .engine import Value
    if isinstance(node, Value):  # a tuple in input order (``_prev`` is a set)
        return list(node.children)
    for name in CHILDREN:
        try:
            got = getattr(node, name)
        except Exception:
            continue
        if got is None:
            continue
        if callable(got):
            try:
                got = got()
            except Exception:
                continue
        try:
            return list(got)
        except TypeError:
            continue
    return []


def _op(node) -> str:
    got = _attr(node, OPS, "")
    return got if isinstance(got, str) else ""


def graph_nodes(root) -> list[dict]:
    """Every node under ``root`` (inputs first) as ``{"label", "data", "grad", "op", "inputs"}``.

    ``inputs`` are indices into the list. Works on any micrograd-style object; iterative, so deep
    graphs are fine.
    """
    order, index = [], {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if id(node) not in index:
                index[id(node)] = len(order)
                order.append(node)
            continue
        if id(node) in index:
            continue
        stack.append((node, True))
        for child in reversed(_children(node)):
            if id(child) not in index:
                stack.append((child, False))
    out = []
    for node in order:
        label = _attr(node, ("label",), "")
        out.append({"label": label if isinstance(label, str) else str(label),
                    "data": _attr(node, ("data", "value")), "grad": _attr(node, GRADS),
                    "op": _op(node), "inputs": [index[id(c)] for c in _children(node) if id(c) in index]})
    return out


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(INSTALL_PACKAGE) from None
    return graphviz


_GRAPH_CLASS = None


def _graph_class():
    """graphviz.Digraph that, displayed without ``dot`` (a notebook), shows a one-line hint, not a traceback."""
    global _GRAPH_CLASS
    if _GRAPH_CLASS is not None:
        return _GRAPH_CLASS
    graphviz = _graphviz()

    class Graph(graphviz.Digraph):
        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            if shutil.which("dot") is None:
                return {"text/plain": INSTALL_DOT}
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError) as err:
                hint = INSTALL_DOT if isinstance(err, graphviz.ExecutableNotFound) else f"dot failed: {err}"
                return {"text/plain": hint.splitlines()[0]}

        def _repr_svg_(self):  # older IPython asks for this one
            bundle = self._repr_mimebundle_(include={"image/svg+xml"})
            return bundle.get("image/svg+xml")

    Graph.__name__ = Graph.__qualname__ = "Digraph"
    _GRAPH_CLASS = Graph
    return Graph


def _escape(text: str) -> str:
    return (str(text).replace("\\", "/").replace("|", "/").replace("{", "(").replace("}", ")")
            .replace("<", "&lt;").replace(">", "&gt;").replace('"', "'"))


def _close(got, true, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    try:
        g, t = float(got), float(true)
    except (TypeError, ValueError):
        return False
    if math.isnan(t) or math.isnan(g):
        return math.isnan(t) and math.isnan(g)
    if math.isinf(t) or math.isinf(g):
        return g == t
    return abs(g - t) <= atol + rtol * abs(t)


def draw_nodes(nodes: list[dict], rankdir: str = "LR", rtol: float = 1e-9, atol: float = 1e-12):
    """A graphviz.Digraph of records ``{"label", "data", "grad", "op", "inputs", "true_grad"?}``.

    A node with a ``true_grad`` is labelled "grad g (true t)" and drawn in red when g is not t
    (within ``atol + rtol * |t|``); a node may also carry ``"wrong": True`` explicitly.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    dot = _graph_class()(format="svg", graph_attr={"rankdir": rankdir})
    for i, node in enumerate(nodes):
        uid = f"n{i}"
        grad = f"grad {_fmt(node.get('grad'))}"
        wrong = bool(node.get("wrong"))
        if "true_grad" in node and node["true_grad"] is not None:
            grad += f" (true {_fmt(node['true_grad'])})"
            wrong = wrong or not _close(node.get("grad"), node["true_grad"], rtol, atol)
        label = _escape(node.get("label") or "")
        text = f"{{ {label} | data {_fmt(node.get('data'))} | {grad} }}" if label else \
            f"{{ data {_fmt(node.get('data'))} | {grad} }}"
        style = {"color": WRONG, "fontcolor": WRONG, "penwidth": "2"} if wrong else {}
        dot.node(uid, label=text, shape="record", **style)
        op = node.get("op") or ""
        if op or node.get("inputs"):
            dot.node(uid + "op", label=_escape(op) or "?", shape="ellipse")
            dot.edge(uid + "op", uid)
            for j in node.get("inputs", []):
                dot.edge(f"n{j}", uid + "op")
    return dot


def draw_dot(root, rankdir: str = "LR"):
    """A graphviz.Digraph of every node under ``root``: label, data and grad; ops as small nodes.

    ``root`` is this project's ``Value`` or any micrograd-style object (a learner's own class).
    It shows inline in Jupyter; without Graphviz's ``dot`` it shows a one-line hint instead.
    """
    return draw_nodes(graph_nodes(root), rankdir)


def write_graph(dot, path: str | Path) -> Path:
    """Write a Digraph to ``path``; its suffix picks the format (.svg, .png, .pdf or .dot)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "svg"
    if fmt not in FORMATS:
        raise ValueError(f"{path}: the name must end in .svg, .png, .pdf or .dot")
    if fmt in ("dot", "gv"):
        data = dot.source.encode()
    else:
        if shutil.which("dot") is None:
            raise RuntimeError(INSTALL_DOT)
        data = dot.pipe(format=fmt)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def render_graph(root, path: str | Path, rankdir: str = "LR") -> Path:
    """Write the graph under ``root`` to ``path``; its suffix picks the format (.svg, .png, .pdf or .dot)."""
    return write_graph(draw_dot(root, rankdir), path)
