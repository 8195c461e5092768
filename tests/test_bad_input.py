"""Bad input gets a one-line message on the scorecard (or the CLI), zero points, no traceback."""

import json

import nbformat
import pytest
from click.testing import CliRunner

from grader import catalog
from grader.cli import main
from grader.render import terminal
from tests.harness import assert_full_marks, mutate, reference_source

EX = "exercise01_autograd"
REF = reference_source(EX)


def _assert_clean_zero(card, fragment):
    assert card.score == 0
    text = terminal.render(card, color=False)
    assert "Traceback" not in text
    messages = {c.message for c in card.checks if c.status != "passed"}
    assert messages and all("\n" not in m for m in messages)
    assert any(fragment.lower() in m.lower() for m in messages), messages
    assert not any("grader problem" in m for m in messages), messages


@pytest.mark.parametrize("source, fragment", [
    ("", "is empty"),
    ("def gradient(f, x)\n    return x\n", "syntax error at line 1"),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00junk", "not a utf-8 text file"),
    ("import torch\nx = 1 / 0\n", "importing autograd_basics.py failed: ZeroDivisionError"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError"),
    ("raise SystemExit(3)\n", "sys.exit(3)"),
], ids=["empty", "syntax", "binary", "import-raises", "import-missing", "exit"])
def test_unusable_source(grade_source, source, fragment):
    card = grade_source(EX, source)
    _assert_clean_zero(card, fragment)
    assert card.problem and "\n" not in card.problem


def test_empty_comment_only_file_is_called_empty_or_lacks_api(grade_source):
    card = grade_source(EX, "# nothing here\n")
    assert card.score == 0 and "does not define `gradient`" in card.checks[0].message


def test_missing_function_costs_only_its_checks(grade_source):
    source = mutate(REF, ("def predict_no_grad(model, x):", "def predict(model, x):"))
    card = grade_source(EX, source)
    failed = {c.id: c.message for c in card.checks if c.status != "passed"}
    assert set(failed) == {"api", "predict_no_grad"}
    assert all("does not define `predict_no_grad`" in m for m in failed.values())


def test_wrong_signature(grade_source):
    card = grade_source(EX, mutate(REF, ("def fit_line(x, y, lr=0.1, steps=100):",
                                         "def fit_line(x, y, learning_rate, steps):")))
    api = next(c for c in card.checks if c.id == "api")
    assert api.status == "failed" and "does not match the README's signature" in api.message


def test_folder_without_the_module(zygote, tmp_path):
    from grader.grading import grade

    card = grade(catalog.get(EX), tmp_path, zygote=zygote)
    _assert_clean_zero(card, "no autograd_basics.py found")


def test_notebook_that_is_not_json(grade_source):
    card = grade_source(EX, "{ this is not json", filename="autograd_basics.ipynb")
    _assert_clean_zero(card, "is not a readable Jupyter notebook")


def test_notebook_with_broken_cell(grade_source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def gradient(:\n  pass")])
    card = grade_source(EX, nbformat.writes(nb), filename="autograd_basics.ipynb")
    _assert_clean_zero(card, "code cell 1 has a syntax error")


def test_notebook_grades_like_a_module(grade_source):
    cells = [nbformat.v4.new_markdown_cell("# my work"),
             nbformat.v4.new_code_cell("%matplotlib inline\n" + REF),
             nbformat.v4.new_code_cell("print(gradient(lambda t: (t**2).sum(), torch.ones(2)))\n"
                                       "!pip install nothing\nraise RuntimeError('experiment')")]
    card = grade_source(EX, nbformat.writes(nbformat.v4.new_notebook(cells=cells)),
                        filename="autograd_basics.ipynb")
    assert_full_marks(card)


def test_cli_unknown_exercise_is_one_line_exit_2():
    result = CliRunner().invoke(main, ["exercise99"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown exercise" in lines[0] and "exercise01" in lines[0]


def test_cli_missing_path_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["exercise01", str(tmp_path / "nope.py")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "no such file" in result.output


def test_cli_json_and_fail_under(tmp_path):
    stub = catalog.get(EX).exercise_dir(catalog.PROJECT_ROOT) / "autograd_basics.py"
    out = tmp_path / "card.json"
    result = CliRunner().invoke(main, ["1", str(stub), "--format", "json", "--out", str(out),
                                       "--fail-under", "50"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data == json.loads(out.read_text())
    assert data["exercise"] == EX and data["score"] == 0 and data["max_score"] > 0
    for c in data["checks"]:
        assert set(c) >= {"id", "title", "category", "points", "max_points", "status", "message",
                          "duration_s"}
        assert c["status"] in ("passed", "failed", "error", "timeout", "not-run")
    assert set(data) >= {"exercise", "title", "score", "max_score", "categories", "checks",
                         "grader_version"}


def test_cli_grades_reference_with_exit_0():
    result = CliRunner().invoke(main, ["exercise01_autograd", str(catalog.get(EX).solution_path)])
    assert result.exit_code == 0, result.output
    assert "100%" in result.output
