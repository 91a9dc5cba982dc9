"""Every corpus case cross-checked against torch through the public API (one test per case)."""
import pytest


@pytest.mark.adcheck_corpus()
def test_engine_agrees_with_torch(case, gradcheck):
    for point in case.points:
        if point.edge or point.known:
            continue  # edges and known limitations are the conformance report's business
        gradcheck(case, point.values, backends=("torch",))
