import math

import pytest


def same_float(a: float, b: float, rtol: float = 1e-12, atol: float = 0.0) -> bool:
    """Equal as doubles: nan matches nan, infinities match by sign, else close."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


@pytest.fixture(scope="session")
def report_records():
    """What `make report` computes: the whole corpus through every backend, gradients and Hessians
    (`adcheck run --workers 2 --order 2`), once per test session."""
    from reference.corpus.cases import CORPUS
    from reference.running.harness import run
    return [r for batch in run(CORPUS, workers=2, order=2) for r in batch]


@pytest.fixture(scope="session")
def corpus_records(report_records):
    """The first-order records of the corpus run."""
    return [r for r in report_records if r.get("order", 1) == 1]
