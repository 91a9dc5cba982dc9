"""The pytest plugin (entry point ``pytest11``): fixtures, a corpus marker, and a records file.

- ``adcheck_backends``: the reference backends, made once per session.
- ``gradcheck``: ``reference.testing.assert_gradients_agree``, ready to call.
- ``@pytest.mark.adcheck_corpus("op:tanh")`` on a test taking ``case``: one test per corpus case.
- ``--adcheck-records=FILE``: every comparison the run made, written as JSON at the end.
"""
from __future__ import annotations

import json

import pytest

from . import testing


def pytest_addoption(parser) -> None:
    group = parser.getgroup("adcheck")
    group.addoption("--adcheck-records", metavar="FILE", default=None,
                    help="write every gradient comparison of this run to FILE (JSON)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "adcheck_corpus(pattern=None): run the test once per corpus case "
                                       "(argument `case`), optionally only cases matching the pattern")
    config._adcheck_records = []
    testing._RECORDERS.append(config._adcheck_records)


def pytest_generate_tests(metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("adcheck_corpus")
    if marker is not None and "case" in metafunc.fixturenames:
        pattern = marker.args[0] if marker.args else marker.kwargs.get("pattern")
        metafunc.parametrize("case", testing.corpus_params(pattern))


def pytest_unconfigure(config) -> None:
    records = getattr(config, "_adcheck_records", None)
    if records is None:
        return
    if records in testing._RECORDERS:
        testing._RECORDERS.remove(records)
    path = config.getoption("--adcheck-records")
    if path:
        from pathlib import Path

        from .report import write_atomic
        write_atomic(Path(path), json.dumps(records, indent=1, allow_nan=False) + "\n")


@pytest.fixture(scope="session")
def adcheck_backends():
    """Every reference backend, by name."""
    from .backends import DEFAULT_BACKENDS, make_backends
    return {b.name: b for b in make_backends(DEFAULT_BACKENDS)}


@pytest.fixture
def gradcheck():
    """assert_gradients_agree(f, at, backends=..., rtol=..., atol=..., engine=...)."""
    return testing.assert_gradients_agree
