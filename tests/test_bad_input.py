"""Bad input gets a one-line message on the scorecard (or the CLI), zero points, no traceback."""

import json
import os
import subprocess
import sys
import time

import nbformat
import pytest
from click.testing import CliRunner

from grader import catalog
from grader.cli import main
from grader.render import terminal
from grader.worker.limits import Limits
from tests.harness import assert_full_marks, failures, mutate, reference_source, stub_path

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
    data = json.loads(result.stdout)
    assert data == json.loads(out.read_text())
    assert result.stderr == "grade: the score 0% is below --fail-under 50%, so the exit status is 1\n"
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


# ---- the first screen: one line per cause, the score first ----

def test_untouched_stub_is_one_line_per_unimplemented_function(grade_source):
    card = grade_source(EX, stub_path(EX).read_text())
    lines = terminal.render(card, color=False).splitlines()
    assert lines[1].startswith("score: 0/12 (0%)")
    for name in ("gradient", "fit_line"):  # each holds back several checks
        said = [i for i, line in enumerate(lines) if f"`{name}` is not implemented yet" in line]
        assert len(said) == 1, lines
        assert "checks (" in lines[said[0] + 1] and "wait on it" in lines[said[0] + 1]
    assert "\n".join(lines).count("is not implemented yet") == 3 and len(lines) < 16, lines
    verbose = terminal.render(card, color=False, verbose=True)
    assert verbose.count("is not implemented yet") == len(card.checks)


def test_syntax_error_shows_the_line_and_a_caret(grade_source):
    card = grade_source(EX, "import torch\n\ndef gradient(f, x)\n    return x\n")
    lines = terminal.render(card, color=False).splitlines()
    at = lines.index("problem: autograd_basics.py has a syntax error at line 3: expected ':'")
    assert lines[at + 1:at + 3] == ["    def gradient(f, x)", "                      ^"]
    assert lines[at + 3] == f"  → all {len(card.checks)} checks (12 points) wait on it"
    assert lines[1].startswith("score: 0/12")


def test_messages_name_the_students_own_file(grade_source):
    card = grade_source(EX, "import torch\nx = 1 / 0\n", filename="imp.py")
    assert card.problem.startswith("importing imp.py failed: ZeroDivisionError"), card.problem
    assert "(imp.py, line 2)" in card.problem and "autograd_basics" not in card.problem
    missing = grade_source(EX, mutate(REF, ("def predict_no_grad(model, x):", "def predict(model, x):")),
                           filename="imp.py")
    assert "imp.py does not define `predict_no_grad`" in failures(missing)["api"]


def test_an_endless_loop_is_named_and_waited_for_once(grade_source):
    source = mutate(REF, ("    x = x.detach().clone().requires_grad_(True)\n",
                          "    while True:\n        pass\n"))
    limits = Limits(probe_seconds=2, submission_seconds=60)
    start = time.monotonic()
    card = grade_source(EX, source, limits=limits)
    assert time.monotonic() - start < 15  # before: every check needing `gradient` waited 2 s
    hung = [c for c in card.checks if c.status in ("timeout", "not-run")]
    message = "`gradient` did not return within 2 s (autograd_basics.py, line 8): an endless loop, " \
              "or far too much work?"
    assert hung and {c.message for c in hung} == {message}
    assert [c.status for c in hung].count("timeout") == 1
    assert {c.id for c in card.checks if c.status == "passed"} >= {"fit_line_values"}
    text = " ".join(line.strip() for line in terminal.render(card, color=False).splitlines())
    assert f"{message} → {len(hung)} checks (" in text


def test_a_loop_that_calls_fine_functions_is_named_by_the_one_that_does_not_return(zygote, tmp_path):
    """train_epoch loops forever over a correct train_step: train_epoch is named (it stayed
    on the stack), train_step's own checks pass."""
    from grader.grading import grade

    ex = catalog.get("exercise03")
    path = tmp_path / "training_loop.py"
    path.write_text(mutate(reference_source(ex.id), (
        "        losses.append(train_step(model, batch, loss_fn, optimizer))",
        "        while True:\n            losses.append(train_step(model, batch, loss_fn, optimizer))")))
    card = grade(ex, path, zygote=zygote, limits=Limits(probe_seconds=2, submission_seconds=60))
    hung = {c.message for c in card.checks if c.status in ("timeout", "not-run")}
    assert len(hung) == 1 and hung.pop().startswith("`train_epoch` did not return within 2 s "
                                                     "(training_loop.py, line ")
    assert {"train_step_gradients", "train_step_loss"} <= {c.id for c in card.checks if c.status == "passed"}


def test_import_that_never_finishes_is_one_problem(grade_source):
    card = grade_source(EX, "import torch\nwhile True:\n    pass\n",
                        limits=Limits(probe_seconds=2, submission_seconds=60))
    assert card.problem == ("importing autograd_basics.py did not finish within 2 s (autograd_basics.py, "
                            "line 2): an endless loop at the top level of the file?")
    assert [c.status for c in card.checks].count("timeout") == 1


def test_cli_unknown_exercise_suggests_the_closest_id():
    result = CliRunner().invoke(main, ["exercize03"])
    assert result.exit_code == 2
    assert "did you mean exercise03?" in result.stderr and result.stderr.count("\n") == 1


def test_cli_verbose_lists_every_check(tmp_path):
    stub = stub_path(EX)
    folded = CliRunner().invoke(main, ["exercise01", str(stub)], env={"GRADER_SERVER": "off"})
    verbose = CliRunner().invoke(main, ["exercise01", str(stub), "--verbose"], env={"GRADER_SERVER": "off"})
    assert folded.exit_code == verbose.exit_code == 0
    assert folded.stdout.count("is not implemented yet") == 3
    assert verbose.stdout.count("is not implemented yet") == 9
    assert "--verbose lists all 9 checks" in folded.stdout


def test_cli_card_time_is_the_time_waited():
    stub = stub_path(EX)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "exercise01", str(stub), "--format", "json"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "GRADER_SERVER": "off"})
    waited = time.monotonic() - start
    card = json.loads(done.stdout)
    assert 0.85 * waited <= card["duration_s"] <= waited, (card["duration_s"], waited)
