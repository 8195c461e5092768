"""A teacher's own exercise, outside the package: `grade new` scaffolds it in a course
folder, `grade audit` judges its suite against its kit, and the course's hidden parts are
as hidden from submissions as the built-in ones."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from grader import catalog
from grader.cli import main
from grader.grading import grade
from grader.worker import sandbox
from tests.harness import FAST_LIMITS

EX_ID = "exercise19_tuning"


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A new course; its references are live (it has no packs until a teacher builds them)."""
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "my-course"
    code, out = invoke("new", EX_ID, "--course", root)
    assert code == 0, out
    yield root
    os.environ.pop("GRADER_COURSE", None)  # `--course` set it, for the processes it starts


def test_scaffold_passes_its_audit_and_joins_the_builtin_exercises(course):
    code, out = invoke("--course", course, "list")
    assert code == 0 and f"exercise19  {EX_ID}" in out and "exercise03" in out
    code, out = invoke("audit", "--course", course, "--format", "json")
    assert code == 0, out
    [result] = json.loads(out)
    assert result["ok"] and result["exercise"] == EX_ID
    assert {c["kind"] for c in result["cases"]} == {"reference", "stub", "mistake", "alternative"}


def test_audit_reports_a_missed_mistake_and_an_unguarded_check(course):
    """The flow of a teacher's first real check: one more check no mistake fails, and a
    mistake the suite cannot see."""
    suite = course / "suites" / EX_ID
    with open(suite / "test_hidden.py", "a") as f:
        f.write('''

@check("values", points=1)
def test_scale_keeps_dtype(student):
    """scale keeps x's dtype"""
    if student.run("scale_call", factor=2.0).out.dtype != torch.float32:
        raise Mistake("scale changed the dtype")
''')
    reference = (course / "solutions" / EX_ID / "tuning.py").read_text()
    (course / "solutions" / EX_ID / "mistakes" / "in_place.py").write_text(
        "# expect: scale_values\n" + reference.replace("return x * factor", "return x.mul_(factor)"))
    code, out = invoke("audit", EX_ID, "--course", course)
    assert code == 1, out
    assert "MISS  exercise19_tuning" in out
    assert "mistake in_place: caught by no check" in out
    assert "check scale_keeps_dtype is unguarded" in out


def test_audit_flags_a_broken_suite_as_a_grader_error(course):
    (course / "suites" / EX_ID / "test_hidden.py").write_text("def broken(:\n")
    code, out = invoke("audit", "--course", course)
    assert code == 1 and "reference: grader error" in out


def test_course_exercise_grades_like_a_builtin_one(course, monkeypatch, zygote):
    monkeypatch.setenv("GRADER_COURSE", str(course))
    ex = catalog.get("exercise19")
    assert ex.course.root == course.resolve() and ex.stub_path.is_file()
    full = grade(ex, ex.solution_path, zygote=zygote, limits=FAST_LIMITS)
    assert full.score == full.max_score > 0
    assert grade(ex, ex.stub_path, zygote=zygote, limits=FAST_LIMITS).score == 0


def test_a_course_id_replaces_the_builtin_one(course, monkeypatch):
    shutil.move(course / "suites" / EX_ID, course / "suites" / "exercise03_tuning")
    code, out = invoke("--course", course, "list")
    assert code == 0 and "exercise03_tuning" in out and "replaces the built-in one" in out
    assert "exercise03_training_loop" not in out


def test_not_a_course_is_one_line(tmp_path):
    code, out = invoke("--course", tmp_path, "list")
    assert code == 2 and out.count("\n") == 1 and "course.toml" in out


def test_new_refuses_a_bad_id_and_an_existing_exercise(course):
    assert invoke("new", "exercise_19", "--course", course)[0] == 2
    code, out = invoke("new", EX_ID, "--course", course)
    assert code == 2 and "already has files" in out


@pytest.mark.skipif(not sandbox.available(), reason="bubblewrap cannot create namespaces here")
@pytest.mark.parametrize("secret", ["suite", "pack"])
def test_submission_cannot_read_hidden_files(secret, tmp_path, zygote):
    """A submission that reads a built-in hidden suite (or reference pack) inside the
    grader package, which workers otherwise see, finds nothing there."""
    ex = catalog.get("exercise01")
    path = ex.suite_dir / "test_hidden.py" if secret == "suite" else ex.pack_path
    assert path.is_file()
    submission = tmp_path / ex.filename
    submission.write_text(f"open({str(path)!r}, 'rb').read()\n" + ex.solution_path.read_text())
    card = grade(ex, submission, zygote=zygote, limits=FAST_LIMITS)
    assert card.score == 0 and "No such file" in card.problem, card.problem


def test_audit_of_a_builtin_exercise(monkeypatch, tmp_path):
    """The built-in course's kits are what `grade audit` reads for a teacher's course too."""
    monkeypatch.chdir(tmp_path)
    code, out = invoke("audit", "exercise05", "--format", "json")
    [result] = json.loads(out)
    assert code == 0 and result["ok"], result["misses"]
    kinds = [c["kind"] for c in result["cases"]]
    assert kinds.count("mistake") >= 10 and "alternative" in kinds and "stub" in kinds
