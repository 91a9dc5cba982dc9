"""The pytest plugin (entry point ``pytest11``): fixtures, a corpus marker, and a records file.

- ``adcheck_backends``: the reference backends, made once per session.
- ``gradcheck``: ``reference.testing.assert_gradients_agree``, ready to call.
- ``@pytest.mark.adcheck_corpus("op:tanh")`` on a test taking ``case``: one test per corpus case.
- ``--adcheck-records=FILE``: every comparison the run made, written as JSON at the end, each
  record with the pytest node id of the test that made it (``"nodeid"``).

Loading the plugin costs nothing: torch and SymPy load the first time a test uses the fixtures
or the API (``reference.testing``), never at pytest start-up (collection included); with
``--adcheck-records`` the API is loaded just before the first test runs, so that every record is kept.
"""
from __future__ import annotations

import sys

import pytest

_CURRENT: dict = {"nodeid": None}


class _Recorder(list):
    """Collects the API's records, each tagged with the node id of the test running."""

    def extend(self, records) -> None:
        nodeid = _CURRENT["nodeid"]
        super().extend({**r, "nodeid": nodeid} for r in records)

    def append(self, record) -> None:
        super().append({**record, "nodeid": _CURRENT["nodeid"]})


def pytest_addoption(parser) -> None:
    group = parser.getgroup("adcheck")
    group.addoption("--adcheck-records", metavar="FILE", default=None,
                    help="write every gradient comparison of this run to FILE (JSON, with each test's node id)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "adcheck_corpus(pattern=None): run the test once per corpus case "
                                       "(argument `case`), optionally only cases matching the pattern")
    config._adcheck_records = _Recorder()
    config._adcheck_registered = False


def _register(config) -> None:
    """With --adcheck-records, hand the recorder to reference.testing before the first test runs."""
    if getattr(config, "_adcheck_registered", True) or not config.getoption("--adcheck-records"):
        return
    from reference import testing
    testing._RECORDERS.append(config._adcheck_records)
    config._adcheck_registered = True


def pytest_generate_tests(metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("adcheck_corpus")
    if marker is None:
        return
    if "case" not in metafunc.fixturenames:
        raise pytest.Collector.CollectError(
            f"{metafunc.definition.nodeid}: @pytest.mark.adcheck_corpus runs a test once per corpus case, "
            f"so the test must take an argument named `case` (def {metafunc.function.__name__}(case, ...))")
    pattern = marker.args[0] if marker.args else marker.kwargs.get("pattern")
    from reference.corpus.cases import select  # the corpus alone: no torch, no SymPy
    cases = select(pattern)
    if not cases:
        raise pytest.Collector.CollectError(
            f"{metafunc.definition.nodeid}: @pytest.mark.adcheck_corpus({pattern!r}) matches no corpus case "
            "(`adcheck list cases` and `adcheck list tags` show what there is)")
    metafunc.parametrize("case", [pytest.param(c, id=c.name) for c in cases])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _register(item.config)
    _CURRENT["nodeid"] = item.nodeid
    try:
        yield
    finally:
        _CURRENT["nodeid"] = None


def pytest_unconfigure(config) -> None:
    records = getattr(config, "_adcheck_records", None)
    if records is None:
        return
    testing = sys.modules.get("reference.testing")
    if testing is not None and records in testing._RECORDERS:
        testing._RECORDERS[:] = [r for r in testing._RECORDERS if r is not records]
    path = config.getoption("--adcheck-records")
    if path:
        import json
        from pathlib import Path

        from reference.core.files import write_atomic
        write_atomic(Path(path), json.dumps(_plain(list(records)), indent=1, allow_nan=False) + "\n")


def _plain(value):
    """Non-finite numbers as the strings "nan", "inf", "-inf" (as in every JSON adcheck writes)."""
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="session")
def adcheck_backends():
    """Every reference backend, by name."""
    from reference.backends import DEFAULT_BACKENDS, make_backends
    return {b.name: b for b in make_backends(DEFAULT_BACKENDS)}


@pytest.fixture
def gradcheck():
    """assert_gradients_agree(f, at, backends=..., rtol=..., atol=..., engine=...)."""
    from reference import testing
    return testing.assert_gradients_agree
