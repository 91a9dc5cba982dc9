"""Each backend against hand-derived derivatives; the micrograd-style adapter."""
import math

import pytest

from reference.backends import BACKENDS, OK, UNSUPPORTED, EngineBackend, OracleBackend, load_class, make_backends
from reference.corpus.cases import CORPUS, case

# f, point, hand-derived (value, partials)
HAND = [
    (case("xy+sin", lambda m, x, y: x * y + m.sin(x), []), (1.0, 2.0),
     (2 + math.sin(1), [2 + math.cos(1), 1.0])),
    (case("exp/y", lambda m, x, y: m.exp(x) / y, []), (0.5, 4.0),
     (math.exp(0.5) / 4, [math.exp(0.5) / 4, -math.exp(0.5) / 16])),
    (case("log*sqrt", lambda m, x: m.log(x) * m.sqrt(x), []), (2.0,),
     (math.log(2) * math.sqrt(2), [1 / math.sqrt(2) + math.log(2) / (2 * math.sqrt(2))])),
    (case("tanh+sigmoid", lambda m, x: m.tanh(x) + m.sigmoid(x), []), (0.3,),
     (math.tanh(0.3) + 1 / (1 + math.exp(-0.3)),
      [1 - math.tanh(0.3) ** 2 + math.exp(-0.3) / (1 + math.exp(-0.3)) ** 2])),
    (case("x**y", lambda m, x, y: x ** y, []), (1.5, 2.5),
     (1.5 ** 2.5, [2.5 * 1.5 ** 1.5, 1.5 ** 2.5 * math.log(1.5)])),
    (case("relu*abs-cos", lambda m, x, y: m.relu(x) * m.abs(y) - m.cos(x), []), (0.7, -2.0),
     (0.7 * 2 - math.cos(0.7), [2 + math.sin(0.7), -0.7])),
]


@pytest.mark.parametrize("name", list(BACKENDS) + ["oracle"])
@pytest.mark.parametrize("c,point,expected", HAND, ids=[h[0].name for h in HAND])
def test_backend_matches_hand_derivation(name, c, point, expected):
    backend = OracleBackend() if name == "oracle" else make_backends([name])[0]
    result = backend.evaluate(c, point)
    if name == "fd-complex-step" and c.name == "relu*abs-cos":
        assert result.status == UNSUPPORTED  # relu and abs are not analytic
        return
    if name == "autograd" and c.name == "relu*abs-cos":
        assert result.status == UNSUPPORTED and "relu" in result.message  # HIPS autograd has no relu
        return
    assert result.status == OK, result.message
    value, grads = expected
    rtol = max(backend.rtol, 1e-14)
    if name == "tinygrad":  # tinygrad computes exp, log, sin... with its own polynomials: a few ulps off
        rtol = 1e-12
    assert math.isclose(result.value, value, rel_tol=max(rtol, 1e-14))
    for v, g in zip(c.variables, grads):
        assert math.isclose(result.grad[v], g, rel_tol=rtol, abs_tol=rtol), (v, result.grad[v], g)


def test_richardson_reports_an_error_estimate():
    result = make_backends(["fd-richardson"])[0].evaluate(HAND[0][0], (1.0, 2.0))
    assert set(result.error_estimate) == {"x", "y"}
    assert all(e < 1e-9 for e in result.error_estimate.values())


def test_every_corpus_case_has_points_and_tags():
    assert len(CORPUS) >= 60
    names = [c.name for c in CORPUS]
    assert len(set(names)) == len(names)
    composites = [c for c in CORPUS if "composite" in c.tags]
    assert len(composites) >= 40
    for c in CORPUS:
        assert c.points and c.all_tags
    primitive_ops = {op for c in CORPUS if "primitive" in c.tags for op in c.ops}
    from autodiff import RULES
    assert primitive_ops == set(RULES)


# -- a learner's engine, with one op missing and one rule wrong ------------------------------
class LearnerValue:
    """micrograd-style, without tanh, and with a wrong partial for sin."""

    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _children
        self._backward = lambda: None

    def _lift(self, other):
        return other if isinstance(other, LearnerValue) else LearnerValue(other)

    def __add__(self, other):
        other = self._lift(other)
        out = LearnerValue(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = LearnerValue(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def sin(self):
        out = LearnerValue(math.sin(self.data), (self,))

        def backward():
            self.grad += math.sin(self.data) * out.grad  # wrong: should be cos
        out._backward = backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) - self


def test_adapter_finds_supported_and_missing_ops():
    backend = EngineBackend(LearnerValue)
    assert {"add", "mul", "sub", "neg", "sin"} <= {op for op, why in backend.support.items() if not why}
    assert {"tanh", "div", "exp", "pow"} <= set(backend.missing)


def test_adapter_reports_missing_op_as_unsupported_and_wrong_rule_as_mismatch():
    from reference.running.harness import run_case
    backend = EngineBackend(LearnerValue)
    tanh_case = case("t", lambda m, x: m.tanh(x) + x, [0.5])
    sin_case = case("s", lambda m, x, y: m.sin(x) * y + x, [(0.5, 2.0)])
    good_case = case("g", lambda m, x, y: x * y + 3 - x, [(0.5, 2.0)])
    (t,), (s,), (g,) = (run_case(c, [backend]) for c in (tanh_case, sin_case, good_case))
    assert t["verdict"] == "unsupported" and "tanh" in t["note"]
    assert s["verdict"] == "mismatch" and "x" in s["note"]
    assert g["verdict"] == "agree"


def test_micrograd_from_pypi_runs_through_the_adapter():
    backend = EngineBackend(load_class("micrograd.engine:Value"))
    assert "tanh" in backend.missing and "relu" not in backend.missing
    from reference.corpus.cases import by_name
    from reference.running.harness import run_case
    verdicts = {r["verdict"] for r in run_case(by_name("micrograd_sanity"), [backend])}
    assert verdicts == {"agree"}


@pytest.mark.parametrize("spec", ["nomodule_xyz:Value", "micrograd.engine:Nope", "justtext"])
def test_bad_engine_spec_is_a_value_error(spec):
    with pytest.raises(ValueError):
        make_backends(["engine"], engine=spec)
