"""What a learner reads (issue 24): the line of their file, plain words, the picture, one answer everywhere."""
import ast
import json
import os
import re
import shutil
import sys

import pytest

from reference.output.report import diagnosis_section
from reference.subject import ops as _ops
from reference.subject.load import parse_spec
from reference.subject.session import Subject

pytest_plugins = ["pytester"]

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "learner_engines")
sys.path.insert(0, HERE)
try:
    from MANIFEST import ENGINES, path
finally:
    sys.path.remove(HERE)

LOCATED = ("rule", "forward", "raises", "api")
TUPLE_REPR = re.compile(r"\(\s*-?[\d.e+-]+\s*,\s*\)|\(\s*-?[\d.e+-]+\s*,\s*-?[\d.e+-]+\s*\)")


def _spec(stem):
    e = ENGINES[stem]
    opts = e["options"]
    value = lambda flag: opts[opts.index(flag) + 1] if flag in opts else None
    return parse_spec(f"{path(stem)}:{e['class']}", value("--grad-attr"), value("--backward-method"),
                      value("--functions"))


def _functions_around(source: str, line: int) -> list[str]:
    """Names of the functions whose body holds ``line``, outermost first."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= node.end_lineno:
            out.append((node.lineno, node.name))
    return [name for _, name in sorted(out)]


def _implementers(op) -> set[str]:
    """The names a function implementing this op may have: its method and aliases, its dunders."""
    if op is None:
        return {"__init__"}
    info = _ops.ops()[op]
    names = {n for n in (info.method, *info.names) if n}
    if info.operator:
        names |= {n for n in _ops.DUNDERS[info.operator] if n}
    return names


@pytest.fixture(scope="module")
def diagnoses():
    cache = {}

    def get(stem):
        if stem not in cache:
            subject = Subject.from_spec(_spec(stem))
            try:
                subject.prepare()
                cache[stem] = (subject.diagnosis(), subject.subject_dict())
            finally:
                subject.close()
        return cache[stem]
    return get


@pytest.mark.parametrize("stem", list(ENGINES))
def test_each_finding_names_the_line_of_the_function_that_implements_the_op(stem, diagnoses):
    diagnosis, _subject = diagnoses(stem)
    for d in diagnosis:
        if d["kind"] not in LOCATED:
            continue
        where = d.get("where")
        assert where, d
        assert os.path.abspath(where["file"]) == path(stem), d
        source = open(where["file"], encoding="utf-8").read()
        line = source.splitlines()[where["line"] - 1]
        assert line.strip(), (where, line)
        around = _functions_around(source, where["line"])
        assert around, (where, line)
        assert set(around) & _implementers(d["op"]), (d["op"], where, around, line)
        if d["kind"] == "rule" and where["function"].endswith("_backward"):
            assert "_backward" in around, (where, around)


@pytest.mark.parametrize("stem", list(ENGINES))
def test_what_is_wrong_is_prose_without_reprs(stem, diagnoses):
    diagnosis, subject = diagnoses(stem)
    text = "\n".join(diagnosis_section({"diagnosis": diagnosis, "subject": subject}))
    assert "{" not in text and "}" not in text, text
    assert not TUPLE_REPR.search(text), TUPLE_REPR.search(text).group(0)
    assert "e+300" not in text and "tolerance 0" not in text
    if any(d["kind"] in LOCATED for d in diagnosis):
        assert re.search(r"`\S+\.py:\d+ \([^)]+\)`", text), text
    for d in diagnosis:  # the JSON keeps the structured evidence
        json.dumps(d)


def test_a_relu_slip_says_for_which_inputs_and_by_how_much(diagnoses):
    (d,) = [d for d in diagnoses("bug_relu_leak")[0] if d["kind"] == "rule"]
    assert "for x < 0" in d["summary"] and "yours is 1, the true value 0" in d["summary"], d["summary"]
    assert d["where"]["function"] == "relu's _backward"
    source = open(path("bug_relu_leak"), encoding="utf-8").read().splitlines()
    assert "def _backward" in source[d["where"]["line"] - 1]


def test_the_accumulation_slip_says_to_add_with_plus_equals(diagnoses):
    (d,) = [d for d in diagnoses("bug_add_assign_sub_built")[0] if d["op"] == "add"]
    assert "`+=`, not `=`" in d["summary"] and "a + a" in d["summary"], d["summary"]


def test_functions_hint_names_the_module():
    spec = parse_spec(f"{path('bug_relu_leak')}:Value")  # without --functions
    subject = Subject.from_spec(spec)
    try:
        subject.prepare(diagnose_too=False)
    finally:
        subject.close()
    (hint,) = subject.hints
    assert "--functions" in hint and "bug_relu_leak.py" in hint and "relu" in hint and "tanh" in hint


def test_check_gradients_with_an_engine_whose_bug_the_expression_does_not_reveal_is_not_ok():
    from reference.testing import check_gradients
    engine = f"{path('bug_add_assign_sub_built')}:Value"
    comparison = check_gradients("x * y", {"x": 0.5, "y": -1.2}, engine=engine, backends="torch")
    assert not comparison.failures  # the expression alone agrees
    assert not comparison.ok
    assert "add" in comparison.why() and "bug_add_assign_sub_built.py:22" in comparison.why()
    assert str(comparison) == repr(comparison) == comparison.table()
    assert "Comparison(" not in str(comparison)


def test_the_pytest_failure_names_the_op_and_its_file_and_line(pytester):
    pytester.makepyfile(test_learners_mul=f"""
        def test_mul(gradcheck):
            gradcheck("x * y", at={{"x": 0.5, "y": -1.2}}, backends="torch",
                      engine={path('bug_add_assign_sub_built') + ':Value'!r})
    """)
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert re.search(r"AssertionError: the engine is wrong: rule add at bug_add_assign_sub_built\.py:22 "
                     r"\(__add__'s _backward\)", text), text


def test_a_graph_bug_report_embeds_the_engines_own_graph_first_wrong_node_red(tmp_path):
    from reference.cli import main
    status = main(["run", "--engine", f"{path('bug_no_visited')}:Value", "--only", "op:tanh", "--backends", "engine",
                   "--out", str(tmp_path)])
    assert status == 1
    md = (tmp_path / "conformance.md").read_text()
    doc = json.loads((tmp_path / "conformance.json").read_text())
    (graph,) = [d for d in doc["diagnosis"] if d["kind"] == "graph"]
    if shutil.which("dot") is None:
        assert "No picture" in md and "dot" in md
        return
    name = graph["picture"]["file"]
    assert f"]({name})" in md
    svg = (tmp_path / name).read_text()
    red = re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S)
    first = [g for g in red if "first wrong" in g]
    assert first and "#d62728" in first[0]


def test_terminal_and_report_give_the_same_counts(tmp_path, capsys):
    from reference.cli import main
    main(["run", "--engine", f"{path('correct_lecture')}:Value", "--only", "op:relu", "--backends", "engine,torch",
          "--out", str(tmp_path)])
    out = capsys.readouterr().out
    md = (tmp_path / "conformance.md").read_text()
    line = re.search(r"Not failures: (.*)\.", out).group(1)
    assert f"**Findings:** {line}." in md


def test_without_dot_one_line_says_so_and_the_report_stands(tmp_path, monkeypatch):
    from reference.cli import main
    from reference.output import pictures
    monkeypatch.setattr(pictures.shutil, "which", lambda name: None)
    status = main(["run", "--engine", f"{path('bug_no_visited')}:Value", "--only", "op:tanh", "--backends", "engine",
                   "--out", str(tmp_path)])
    assert status == 1
    md = (tmp_path / "conformance.md").read_text()
    assert "No picture of" in md and "`dot`" in md and "## What is wrong" in md
    assert not list(tmp_path.glob("finding-*.svg"))


def test_at_a_kink_the_subject_row_says_what_it_does_and_the_oracle_shows_the_valid_set():
    from reference.cli import check_result
    from reference.output.report import check_table
    result = check_result("relu(x)", {"x": 0.0}, ["engine", "torch"], parse_spec(f"{path('correct_relu_one')}:Value"))
    text = check_table(result)
    assert "[0, 1]" in text.splitlines()[4]  # the oracle row
    assert "your relu' at the kink is 1: a valid subgradient" in result["backends"]["engine"]["note"]
    assert "torch uses 0" in result["backends"]["engine"]["note"]


def test_a_notebook_cells_filename_passes_through_where():
    import types
    module = types.ModuleType("adcheck_test_nbcell")
    source = open(path("bug_tanh_input"), encoding="utf-8").read()
    exec(compile(source, "<nb.ipynb cell 4>", "exec"), module.__dict__)
    subject = Subject.from_class(module.Value)
    subject.prepare()
    (d,) = [d for d in subject.diagnosis() if d["kind"] == "rule"]
    assert d["where"]["file"] == "<nb.ipynb cell 4>" and d["where"]["function"] == "tanh's _backward"
    from reference.output.wording import headline
    assert headline(d).startswith("rule tanh at nb.ipynb, cell 4, line ")  # the cell in words (describe_location)
