"""The teacher-facing log: silent by default, `grade -v` shows what a batch does."""

import shutil

import pytest
from click.testing import CliRunner

from grader import catalog, logs
from grader.cli import main

EX = catalog.get("exercise01")


@pytest.fixture
def logged(monkeypatch):
    monkeypatch.setenv("GRADER_LOG", "off")  # restored after the test; -v sets it
    yield
    monkeypatch.setenv("GRADER_LOG", "off")
    logs.configure()


@pytest.fixture
def klass(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(EX.solution_path, subs / "ann.py")
    (subs / "bob.py").write_text("def gradient(:\n")
    return subs


def _batch(args, klass, tmp_path, name):
    return CliRunner().invoke(main, [*args, "batch", str(klass), "--out", str(tmp_path / name),
                                     "--jobs", "1", "--exercise", EX.short_id])


def test_batch_is_silent_without_v(logged, klass, tmp_path):
    result = _batch([], klass, tmp_path, "quiet")
    assert result.exit_code == 0, result.output
    assert " INFO grader." not in result.stderr


def test_v_logs_the_plan_and_each_card(logged, klass, tmp_path):
    result = _batch(["-v"], klass, tmp_path, "loud")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("grade ")]
    assert any("INFO grader.batch.run" in line and "2 tasks in this run" in line for line in lines), lines
    assert any(f"ann.py × {EX.id}: 12/12" in line for line in lines), lines
    assert any(f"bob.py × {EX.id}: 0/12" in line for line in lines), lines


def test_a_bad_log_level_is_refused(monkeypatch):
    monkeypatch.setenv("GRADER_LOG", "loud")
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 2 and result.stderr.startswith("grade: GRADER_LOG='loud'")
