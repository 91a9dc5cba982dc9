"""The op registry: one row per op, one chain rule, and a Value a micrograd learner recognises."""
import math
import subprocess
import sys
import tarfile
import types
from pathlib import Path

import pytest

import autodiff
from autodiff import RULES, Value, grad, rules
from autodiff.engine import VALUE_MATH


def _inputs(point, rule, leafy: bool):
    """The point as leaves, or as non-leaf nodes made by another op, plus the leaves."""
    leaves = [Value(x) for x in point]
    if leafy:
        return leaves, leaves
    return leaves, [leaf * 1.0 if rule.name == "add" else leaf + 0.0 for leaf in leaves]


def _three_ways(rule, leafy=True, point=None):
    """The gradient by backward(), grad() and grad(create_graph=True), on leaves or non-leaves."""
    out = []
    for how in ("backward", "grad", "create_graph"):
        leaves, nodes = _inputs(point or rule.sampling.probe, rule, leafy)
        y = getattr(VALUE_MATH, rule.name)(*nodes, *rule.sampling.probe_params)
        f = y + y + y if rule.name == "mul" else y * 3.0  # a chain factor above: a missing upstream shows
        if how == "backward":
            f.backward()
            out.append([v.grad for v in leaves])
        else:
            out.append([g.data for g in grad(f, leaves, create_graph=how == "create_graph")])
    return out


PARTIALS = [(name, i) for name, rule in RULES.items() for i in range(rule.arity)]


@pytest.mark.parametrize("name,i", PARTIALS, ids=[f"{n}-d{i}" for n, i in PARTIALS])
def test_a_planted_partial_shows_in_backward_grad_and_create_graph(name, i):
    rule = RULES[name]
    # where this partial is not 0 (maximum's d/dy is 0 at its probe, where x > y)
    point = rule.sampling.probe if _three_ways(rule)[0][i] != 0 else rule.sampling.probe[::-1]
    honest = _three_ways(rule, point=point)
    assert honest[0] == honest[1] == honest[2]  # bit-identical, whichever path
    wrong = list(rule.partials)
    original = wrong[i]
    wrong[i] = lambda m, z, *args, _p=original: (_p if isinstance(_p, float) else _p(m, z, *args)) * 1.001
    with rules.override(rules.replaced(name, partials=tuple(wrong))):
        planted = _three_ways(rule, point=point)
        planted_nonleaf = _three_ways(rule, leafy=False, point=point)
    for got in planted + planted_nonleaf:
        assert got[i] != honest[0][i], (name, i, got, honest)
        assert got[1 - i] == honest[0][1 - i] if rule.arity == 2 else True
    assert _three_ways(rule, point=point) == honest  # the row is back


def test_every_row_is_a_method_an_operator_or_both():
    for rule in RULES.values():
        assert hasattr(VALUE_MATH, rule.name)
        if rule.spelling.method:
            assert callable(getattr(Value, rule.spelling.method)), rule.name
        else:
            assert rule.spelling.operator, rule.name


def test_there_is_one_chain_rule_loop():
    """One template writes the chain rule (codegen); the generated module holds it once per mode."""
    from autodiff import _generated, codegen
    assert Path(codegen.__file__).read_text().count("reversed(") == 1
    assert "reversed(" not in Path(autodiff.engine.__file__).read_text()
    assert Path(_generated.__file__).read_text().count("for node in reversed(order):") == len(codegen.LOOPS) == 3


def test_the_generated_engine_code_is_current():
    """autodiff/_generated.py is what the rows give today (as reports/ and the stored oracle are checked)."""
    from autodiff import _generated
    from autodiff.codegen import COMMAND, engine_module
    on_disk = Path(_generated.__file__).read_text(encoding="utf-8")
    assert on_disk == engine_module(), f"autodiff/_generated.py is stale: run `{COMMAND}` and commit it"


def test_the_engine_code_is_on_disk():
    """getsource and tracebacks reach real lines of autodiff/_generated.py."""
    import inspect
    import traceback
    source = inspect.getsource(Value.tanh)
    assert source.lstrip().startswith("def tanh(self)") and "_tanh(self.data)" in source
    assert inspect.getsourcefile(Value.tanh).endswith("_generated.py")
    t = Value(0.5).tanh()
    y = t * 2.0
    t.data = "not a number"  # mul's step multiplies by it
    with pytest.raises(TypeError) as err:
        y.backward()
    frame = traceback.extract_tb(err.value.__traceback__)[-1]
    assert frame.filename.endswith("_generated.py") and frame.name == "chain_rule_into_grad"
    assert frame.line == "b.grad += g * x"


def test_an_override_runs_regenerated_code_and_the_file_again_after():
    from autodiff import _generated, engine
    on_disk = (Value.tanh, Value.__mul__, Value._mul_add, engine._LOOPS["slot"])
    assert on_disk == (_generated.ValueOps.tanh, _generated.ValueOps.__mul__, _generated.ValueOps._mul_add,
                       _generated.chain_rule_into_grad)
    with rules.override(rules.replaced("tanh", partials=(lambda m, z, x: 2.0 + 0.0 * x,))):
        assert Value.tanh is not _generated.ValueOps.tanh and engine._LOOPS["slot"] is not on_disk[-1]
        x = Value(0.3)
        (x.tanh() * 3.0).backward()
        assert x.grad == 6.0
    assert (Value.tanh, Value.__mul__, Value._mul_add, engine._LOOPS["slot"]) == on_disk
    assert "tanh" not in vars(Value)


def test_new_ops_have_their_rows():
    for name in ("tan", "atan", "log1p", "softplus", "leaky_relu", "maximum"):
        assert name in RULES
    assert Value(-2.0).leaky_relu().data == -0.02 and Value(-2.0).leaky_relu(0.5).data == -1.0
    x, y = Value(1.5), Value(1.5)
    x.maximum(y).backward()
    assert (x.grad, y.grad) == (0.5, 0.5)  # a tie: half each, as torch
    assert Value(1000.0).softplus().data == 1000.0 and Value(-1000.0).softplus().data == 0.0


def test_pow_mixed_second_partials_agree_at_zero_exponent():
    x, y = Value(2.0), Value(0.0)
    gx, gy = grad(x ** y, [x, y], create_graph=True)
    assert grad(gx, [y])[0].data == 0.5 == grad(gy, [x])[0].data


def test_pow_slope_in_y_is_nan_at_a_negative_base_even_when_the_power_underflows():
    x, y = Value(-2.0), Value(-2000.0)
    (x ** y).backward()
    assert math.isnan(y.grad)


def test_micrograd_constructor_and_attributes():
    a = Value(2.0, (), "", "a")
    b = Value(-3.0, label="b")
    c = Value(10.0, "c")  # the label as second positional argument
    e = a * b
    d = e + c
    assert (a.label, b.label, c.label) == ("a", "b", "c")
    assert d._op == "+" and e._op == "*" and d._prev == {e, c}
    assert (a ** 2)._op == "**2"
    manual = Value(a.data + b.data, (a, b), "+")
    assert manual.op == "add" and manual._prev == {a, b}


def test_the_lectures_manual_backprop_gives_backward_s_gradients():
    def build():
        x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
        b = Value(6.8813735870195432, "b")
        n = x1 * w1 + x2 * w2 + b
        o = n.tanh()
        return o, [x1, x2, w1, w2, b]

    o, leaves = build()
    o.backward()
    expected = [v.grad for v in leaves]

    o, leaves = build()
    order, seen = [], set()

    def visit(v):  # the learner's recursive topological sort
        if v not in seen:
            seen.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(o)
    o.grad = 1.0
    for node in reversed(order):
        node._backward()
    assert [v.grad for v in leaves] == expected


def test_a_drawing_written_against_micrograds_attributes_runs():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b + a).tanh()
    out.backward()
    nodes, edges = set(), set()

    def walk(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                walk(child)

    walk(out)
    lines = [f'{id(n)} [label="{n.label} | data {n.data:.4f} | grad {n.grad:.4f}"]' for n in nodes]
    lines += [f"{id(n)}{n._op} -> {id(n)}" for n in nodes if n._op]
    lines += [f"{id(c)} -> {id(p)}{p._op}" for c, p in edges]
    assert len(nodes) == 5 and len(edges) == 5 and any("tanh" in line for line in lines)


MICROGRAD_SDIST = "micrograd==0.1.0"


def _micrograd_test_file(cache: Path) -> Path:
    target = cache / "test_engine.py"
    if target.exists():
        return target
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    MICROGRAD_SDIST, "-d", str(cache)], check=True, capture_output=True, timeout=300)
    (sdist,) = cache.glob("micrograd-0.1.0.tar.gz")
    with tarfile.open(sdist) as tar:
        member = tar.extractfile("micrograd-0.1.0/test/test_engine.py")
        target.write_bytes(member.read())
    return target


def test_micrograds_own_test_file_passes_unmodified_against_this_engine(tmp_path_factory, monkeypatch):
    path = _micrograd_test_file(tmp_path_factory.mktemp("micrograd-sdist"))
    shim = types.ModuleType("micrograd.engine")
    shim.Value = Value
    package = types.ModuleType("micrograd")
    package.engine = shim
    monkeypatch.setitem(sys.modules, "micrograd", package)
    monkeypatch.setitem(sys.modules, "micrograd.engine", shim)
    namespace = {"__name__": "micrograd_test_engine"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # micrograd's published test, as shipped
    tests = [fn for name, fn in namespace.items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test()


def test_every_edge_of_every_row_has_its_conventions():
    """The one table kept apart from the registry (each backend's numbers at each edge) is keyed by it."""
    from reference.corpus.conventions import CONVENTIONS, SECOND
    edges = {e.key for rule in RULES.values() for e in rule.edges}
    assert edges == set(CONVENTIONS), (edges ^ set(CONVENTIONS))
    kinks = {e.key for rule in RULES.values() for e in rule.edges if e.kind == "kink"}
    assert kinks <= set(SECOND)  # second derivatives at kinks are declared too
    for key in edges:
        assert "engine" in CONVENTIONS[key].why, key  # what the engine does there, in words


def test_every_row_reaches_the_parser_the_fuzzer_the_corpus_and_the_namespaces():
    from reference.backends.finite_difference import REAL
    from reference.backends.pytorch import TORCH
    from reference.corpus.cases import PRIMITIVE_CASES
    from reference.corpus.parser import FUNCTION_NAMES
    from reference.corpus.strategies import TEMPLATES
    from reference.subject.ops import ops
    covered = {t[3:] for c in PRIMITIVE_CASES for t in c.all_tags if t.startswith("op:")}
    for name, rule in RULES.items():
        assert name in covered and name in TEMPLATES and name in ops(), name
        if rule.spelling.method:
            assert name in FUNCTION_NAMES and hasattr(TORCH, name) and hasattr(REAL, name), name
        for edge in rule.edges:  # the corpus visits every edge (a point is its inputs, then its params)
            assert any(edge.test(*(float(v) for v in p)) for p in rule.sampling.points), edge.key


@pytest.mark.parametrize("name", list(RULES))
def test_the_generated_steps_and_the_rows_local_step_agree_bit_for_bit(name):
    """Each generated loop and ``_local_step`` (``node._backward()``, and nodes whose row was replaced) do the
    same arithmetic: the same bits into ``.grad``, into a dict of floats and into a dict of Values."""
    import struct

    from autodiff.engine import _LOOPS, _local_step

    def bits(v):
        return struct.pack("<d", v.data if isinstance(v, Value) else v)

    rule = RULES[name]
    for point in rule.sampling.points:
        inputs, params = point[:rule.arity], point[rule.arity:]
        for mode in ("slot", "float", "value"):
            runs = []
            for generated in (True, False):
                xs = [Value(float(v)) for v in inputs]
                y = getattr(VALUE_MATH, name)(*xs, *params)
                seed = Value(-0.75) if mode == "value" else -0.75
                grads = None if mode == "slot" else {y: seed}
                if mode == "slot":
                    y.grad = seed
                if generated:
                    _LOOPS[mode]([y], grads)
                else:
                    _local_step(y, grads, mode == "value")
                runs.append([bits(x.grad if grads is None else grads.get(x, 0.0)) for x in xs])
            assert runs[0] == runs[1], (name, point, mode)
