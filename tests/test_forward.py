"""Forward mode (``autodiff.jvp``) from the same rules agrees with reverse mode everywhere in the corpus."""
import math

import pytest

from autodiff import Value, grad, jvp, rules
from autodiff.engine import VALUE_MATH
from conftest import same_float
from reference.corpus.cases import CORPUS


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_jvp_along_each_axis_is_the_reverse_mode_partial(case):
    for point in case.points:
        xs = [Value(x) for x in point.values]
        reverse = [g.data for g in grad(case.fn(VALUE_MATH, *xs), xs)]
        for i in range(len(xs)):
            tangent = [1.0 if j == i else 0.0 for j in range(len(xs))]
            _, slope = jvp(lambda *vs: case.fn(VALUE_MATH, *vs), point.values, tangent)
            assert same_float(slope, reverse[i], rtol=1e-12, atol=1e-300), (case.name, point.values, i)


def test_jvp_is_linear_in_the_tangent():
    f = lambda m, x, y: m.tanh(x / y) + x * m.sin(y)
    _, a = jvp(f, [0.3, 1.7], [1.0, 0.0])
    _, b = jvp(f, [0.3, 1.7], [0.0, 1.0])
    _, both = jvp(f, [0.3, 1.7], [2.0, -3.0])
    assert math.isclose(both, 2 * a - 3 * b, rel_tol=1e-14)


def test_a_planted_partial_shows_in_forward_mode_too():
    honest = jvp(lambda m, x: m.sin(x) * 2.0, [0.7], [1.0])[1]
    with rules.override(rules.replaced("sin", partials=(lambda m, z, x: m.cos(x) * 1.000001,))):
        planted = jvp(lambda m, x: m.sin(x) * 2.0, [0.7], [1.0])[1]
    assert planted != honest and math.isclose(planted, honest * 1.000001, rel_tol=1e-15)
