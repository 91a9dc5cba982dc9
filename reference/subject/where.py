"""Where an op lives in the subject's own source: the method that builds its node, the ``_backward``
step the node runs, and the line that raises.

Runs where the engine runs (``Tasks.locate``): the op is built on leaves at its probe point and
the code objects of what ran are read (``co_filename``, ``co_firstlineno``, ``co_qualname``), so a
notebook cell registered under a name such as ``<nb.ipynb cell 4>`` passes through unchanged.
Only plain data comes back.
"""
from __future__ import annotations

import inspect
import re
import sys

from reference.corpus.cases import by_name
from reference.subject import ops as _ops


def _code_of(fn):
    fn = inspect.unwrap(getattr(fn, "__func__", fn)) if fn is not None else None
    return getattr(fn, "__code__", None)


def _span(code) -> tuple[int, int]:
    """First and last line of a code object (its own lines and those of every nested function)."""
    lines = [code.co_firstlineno]
    stack = [code]
    while stack:
        c = stack.pop()
        lines += [ln for _, _, ln in c.co_lines() if ln is not None]
        stack += [k for k in c.co_consts if hasattr(k, "co_lines")]
    return min(lines), max(lines)


def _short(qualname: str) -> str:
    """``Value.__mul__.<locals>._backward`` -> ``__mul__'s _backward``; ``Value.relu`` -> ``relu``."""
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    if len(parts) >= 2 and parts[-1] != parts[-2] and "<locals>" in qualname:
        return f"{parts[-2]}'s {parts[-1]}"
    return parts[-1] if parts else qualname


def _place(code, line: int | None = None, function: str | None = None) -> dict:
    first, last = _span(code)
    return {"file": code.co_filename, "line": line or code.co_firstlineno,
            "function": function or _short(getattr(code, "co_qualname", code.co_name)), "span": [first, last]}


def _builder(adapter, info, form: str):
    """The function Python calls to build this op in this form (a method, a dunder or a --functions function)."""
    if info.operator:
        name, rname = _ops.DUNDERS[info.operator]
        wanted = rname if form == "c op V" else name
        return getattr(adapter.cls, wanted, None) if wanted else None
    how = adapter.plan.get((info.name, "call"), ("native", ""))[1] or next(iter(adapter._callers(info)), "")
    if not how:
        return None
    kind, name = how.split(":", 1)
    return getattr(adapter.cls, name, None) if kind == "method" else getattr(adapter.functions, name, None)


def _raised_at(adapter, err: BaseException, files: set) -> dict | None:
    """The deepest frame of the engine's own code in the traceback of ``err``."""
    found, tb = None, err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename in files:
            found = {"file": code.co_filename, "line": tb.tb_lineno,
                     "function": _short(getattr(code, "co_qualname", code.co_name))}
        tb = tb.tb_next
    return found


def locate(adapter, name: str | None, form: str | None = None) -> dict:
    """``{"builder", "backward", "raised"}``, each ``{"file", "line", "function", "span"}`` or None.

    ``name`` None locates the constructor (an engine whose ``Value(0.7)`` raises), ``"<backward>"`` the
    backward method (where the graph walk is).
    """
    files = set(adapter.engine_files)
    out: dict = {"builder": None, "backward": None, "raised": None}
    if name is None:
        init = _code_of(getattr(adapter.cls, "__init__", None))
        if init is not None and init.co_filename:
            out["builder"] = _place(init)
            files.add(init.co_filename)
        try:
            adapter.cls(0.7)
        except Exception as err:  # the engine's constructor: where it raises is the answer
            out["raised"] = _raised_at(adapter, err, files)
        return out
    if name == "<backward>":  # the graph walk: the engine's backward method, and the sort it calls
        code = _code_of(getattr(adapter.cls, adapter.backward_name or "backward", None))
        out["builder"] = _place(code) if code is not None else None
        out["sort"] = _sort_called(adapter, files)
        return out
    info = _ops.ops()[name]
    form = form or info.primary_form
    code = _code_of(_builder(adapter, info, form))
    if code is not None:
        out["builder"] = _place(code)
        files.add(code.co_filename)
    pts, params = info.probe, info.probe_params
    try:
        if form in ("V op c", "call V c") and not info.params:
            inputs = (adapter.leaf(pts[0]), pts[1])
        elif form == "c op V":
            inputs = (pts[0], adapter.leaf(pts[1]))
        else:
            inputs = tuple(adapter.leaf(x) for x in pts)
        node = adapter.native(info, form, inputs, params)
    except Exception as err:  # the engine's op: where it raises is the answer
        out["raised"] = _raised_at(adapter, err, files)
        return out
    step = _code_of(getattr(node, "_backward", None))
    if step is not None and step.co_filename:
        out["backward"] = _place(step)
    if adapter.is_node(node):
        try:
            adapter.backward(node)
        except Exception as err:  # the engine's backward: where it raises is the answer
            out["raised"] = _raised_at(adapter, err, files)
    return out


_SORT = re.compile(r"topo|sort", re.IGNORECASE)


def _sort_called(adapter, files: set) -> dict | None:
    """The engine's own function that a backward call runs and whose name says it sorts the graph
    (``topological_sort``, ``build_topo``), found by watching the calls of ``x * y + x``'s backward."""
    table = _ops.ops()
    try:
        x, y = adapter.leaf(0.6), adapter.leaf(1.3)
        node = adapter.native(table["add"], "V op V", (adapter.native(table["mul"], "V op V", (x, y), ()), x), ())
    except Exception:  # the engine's own code: it may lack these operators
        return None
    if not adapter.is_node(node):
        return None
    called: list = []

    def watch(frame, event, _arg):
        if event == "call" and frame.f_code.co_filename in files and frame.f_code not in called:
            called.append(frame.f_code)

    before = sys.getprofile()
    sys.setprofile(watch)
    try:
        adapter.backward(node)
    except Exception:  # the engine's own backward: whatever it raises is the corpus's to report
        pass
    finally:
        sys.setprofile(before)
    sort = next((c for c in called if _SORT.search(c.co_name)), None)
    return _place(sort) if sort is not None else None


def pick(found: dict, kind: str) -> dict | None:
    """The one place a finding of this kind points at: the line that raises, the ``_backward`` step
    defined inside the builder (for a wrong partial), else the builder itself; with the builder kept
    beside it as ``method``."""
    builder, step, raised = found.get("builder"), found.get("backward"), found.get("raised")
    inside = bool(builder and step and step["file"] == builder["file"]
                  and builder["span"][0] <= step["line"] <= builder["span"][1])
    if kind == "raises" or (kind == "api" and raised):
        chosen = raised or builder
    elif kind == "rule" and inside:
        chosen = step
    elif kind == "sort" and found.get("sort"):
        chosen = found["sort"]
    else:
        chosen = builder or raised
    if chosen is None:
        return None
    where = {k: chosen[k] for k in ("file", "line", "function")}
    if builder and chosen is not builder:
        where["method"] = {k: builder[k] for k in ("file", "line", "function")}
    return where


def raised_in_case(tasks, name: str, point) -> dict | None:
    """Where evaluating the corpus case ``name`` at ``point`` raises: the deepest frame of the engine's own code
    (None if it does not raise or there is no such case)."""
    adapter = tasks.adapter
    try:
        case = by_name(name)
    except KeyError:
        return None
    try:
        tasks.evaluate(case, tuple(point))
    except Exception as err:  # the engine running the case: where it raises is the answer
        return _raised_at(adapter, err, set(adapter.engine_files))
    return None
