"""Graphviz pictures of a computation graph (needs the graphviz package and ``dot``)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .engine import Value, _topological

__all__ = ["draw_dot", "render_graph"]

INSTALL_PACKAGE = "drawing needs the graphviz Python package: pip install graphviz"
INSTALL_DOT = ("drawing needs Graphviz's `dot` program: apt-get install graphviz "
               "(Debian/Ubuntu), brew install graphviz (macOS) or conda install graphviz")


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def draw_dot(root: Value, rankdir: str = "LR"):
    """A graphviz.Digraph of every node under root: label, data and grad; ops as small nodes."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(INSTALL_PACKAGE) from None
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": rankdir})
    for node in _topological(root):
        uid = str(id(node))
        label = node.label.replace("|", "/").replace("{", "(").replace("}", ")")
        dot.node(uid, label=f"{{ {label} | data {_fmt(node.data)} | grad {_fmt(node.grad)} }}", shape="record")
        if node.op:
            op_text = node.op if not node.args else f"**{node.args[0]:g}"
            dot.node(uid + node.op, label=op_text, shape="ellipse")
            dot.edge(uid + node.op, uid)
            for child in node.children:
                dot.edge(str(id(child)), uid + node.op)
    return dot


def render_graph(root: Value, path: str | Path, rankdir: str = "LR") -> Path:
    """Write the graph to ``path``; its suffix picks the format (.svg, .png, .pdf or .dot)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "svg"
    dot = draw_dot(root, rankdir)
    if fmt in ("dot", "gv"):
        path.write_text(dot.source)
        return path
    if shutil.which("dot") is None:
        raise RuntimeError(INSTALL_DOT)
    data = dot.pipe(format=fmt)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
