"""The import layering of reference/ and autodiff/: rooms by job, imports pointing down only, no cycles.

grimp reads every import, those written inside functions included, so a cycle cannot hide in one.
"""
import grimp
import pytest

# Top to bottom: a room may import the rooms below it, never those above (nor autodiff -> reference).
LAYERS = [
    ("reference.cli", "reference.pytest_plugin", "reference.__main__"),  # the interfaces
    ("reference.tools",),      # the fuzzer, built on the testing API
    ("reference.testing",),    # the Python API: check_gradients, check_engine
    ("reference.output",),     # reports, study, atlas and training pages: render records
    ("reference.running",),    # the harness, its process pool, Dask
    ("reference.judging",),    # verdicts, tolerances, summaries
    ("reference.backends",),   # one module per backend, one interface
    ("reference.subject",),    # another engine: loading, adapting, isolated workers, probing, diagnosis
    ("reference.oracle",),     # the exact oracle: derivation, balls, the exact chain rule, the stored data
    ("reference.corpus",),     # cases, conventions, the expression parser, fuzz templates
    ("reference.bench",),      # timings of the engine and its peers (adcheck bench, the study's cost table)
    ("reference.core",),       # errors, budgets, files, number formatting, progress
    ("autodiff",),
]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("reference", "autodiff", include_external_packages=False, cache_dir=None)


def _room(module: str) -> int:
    for rank, rooms in enumerate(LAYERS):
        if any(module == r or module.startswith(r + ".") for r in rooms):
            return rank
    raise AssertionError(f"{module} sits in no room of LAYERS: add it to one")


def test_every_module_sits_in_a_room(graph):
    for module in graph.modules:
        if module not in ("reference", "autodiff"):
            _room(module)


def test_imports_point_down_only(graph):
    upward = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in ("reference", "autodiff"):
                continue
            if module not in ("reference",) and _room(imported) < _room(module):
                upward.append(f"{module} imports {imported}")
    assert not upward, "imports pointing up:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", ["reference", "autodiff"])
def test_no_import_cycles_between_modules(graph, package):
    cycles = []
    modules = sorted(m for m in graph.modules if m.startswith(package + "."))
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(package + ".") and graph.chain_exists(imported, module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
