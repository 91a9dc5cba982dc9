"""The pytest plugin costs nothing at start-up; its marker and records file say which test is which."""
import json
import os
import statistics
import subprocess
import sys
import time

pytest_plugins = ["pytester"]

ONE_TEST = """
import sys

def test_nothing_heavy_was_imported(request):
    assert request.config.pluginmanager.hasplugin("adcheck") == {with_plugin}
    heavy = sorted(m for m in ("torch", "sympy") if m in sys.modules)
    assert not heavy, f"loading pytest (and the adcheck plugin) imported {{heavy}}"
"""


def _pytest(folder, *args) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=300)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return seconds


def test_start_up_with_and_without_the_plugin(tmp_path):
    """A one-test project, interleaved runs with and without the plugin; torch and SymPy never load."""
    with_plugin, without = tmp_path / "with", tmp_path / "without"
    for folder, flag in ((with_plugin, True), (without, False)):
        folder.mkdir()
        (folder / "test_one.py").write_text(ONE_TEST.format(with_plugin=flag))
    times = {"with": [], "without": []}
    for _ in range(3):
        times["without"].append(_pytest(without, "-p", "no:adcheck"))
        times["with"].append(_pytest(with_plugin))
    w, wo = statistics.median(times["with"]), statistics.median(times["without"])
    print(f"\npytest start-up of a one-test project: {w:.3f} s with the adcheck plugin, {wo:.3f} s without "
          f"(-p no:adcheck); difference {w - wo:+.3f} s (median of 3, interleaved)")


def test_loading_the_plugin_imports_neither_torch_nor_sympy():
    code = ("import sys, reference.pytest_plugin; "
            "print(sorted(m for m in ('torch', 'sympy', 'reference.testing', 'reference.backends') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_marker_on_a_test_without_case_names_the_test(pytester):
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.adcheck_corpus("op:tanh")
        def test_forgot_the_argument():
            pass
    """)
    result = pytester.runpytest("-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*test_marked.py::test_forgot_the_argument*adcheck_corpus*`case`*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_marker_with_a_pattern_matching_nothing_says_so(pytester):
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.adcheck_corpus("no-such-thing")
        def test_cases(case):
            pass
    """)
    result = pytester.runpytest("-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*matches no corpus case*adcheck list*"])


def test_records_carry_the_node_id(pytester):
    pytester.makepyfile(test_records="""
        import pytest
        from reference.testing import check_gradients

        def test_api():
            assert check_gradients("x*y", {"x": 2.0, "y": 3.0}, backends=("fd-central",)).ok

        def test_fixture(gradcheck):
            gradcheck("tanh(x)", {"x": 0.5}, backends=("fd-central",))

        def test_log_at_zero():
            check_gradients("log(x)", {"x": 0.0}, backends=("fd-central",))
    """)
    out = pytester.path / "records.json"
    result = pytester.runpytest(f"--adcheck-records={out}", "-q")
    result.assert_outcomes(passed=3)
    records = json.loads(out.read_text())
    ids = {r["nodeid"] for r in records}
    assert ids == {"test_records.py::test_api", "test_records.py::test_fixture", "test_records.py::test_log_at_zero"}
    assert all(r["backend"] in ("engine", "fd-central") for r in records)
