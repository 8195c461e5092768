"""Every exercise: complete folders, stub scores 0, reference scores full marks, public tests."""

import re
import shutil
import subprocess
import sys

import pytest

from grader import catalog
from tests.harness import assert_full_marks, stub_path

IDS = [ex.id for ex in catalog.exercises()]


def test_catalog_finds_exercises():
    """The catalog lists exactly the exercise folders that come complete (student folder,
    reference solution and hidden suite), each id well formed and each number used once."""
    root = catalog.PROJECT_ROOT
    complete = sorted(
        folder.name for folder in (root / "exercises").iterdir()
        if folder.is_dir() and (root / "solutions" / folder.name).is_dir()
        and (catalog.SUITES_DIR / folder.name / "test_hidden.py").is_file())
    assert len(complete) >= 18, complete
    assert IDS == complete
    numbers = []
    for ex in catalog.exercises():
        match = re.fullmatch(r"exercise(\d\d)_[a-z0-9_]+", ex.id)
        assert match, ex.id
        assert ex.number == int(match.group(1)) and ex.short_id == ex.id[:10], ex.id
        assert ex.suite_dir == catalog.SUITES_DIR / ex.id, ex.id
        numbers.append(ex.number)
    assert len(numbers) == len(set(numbers)), numbers


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercise_folder_is_complete(exercise_id):
    ex = catalog.get(exercise_id)
    folder = ex.exercise_dir(catalog.PROJECT_ROOT)
    for name in ("README.md", ex.filename, "test_public.py"):
        assert (folder / name).is_file(), name
    assert ex.solution_path.is_file()
    readme = (folder / "README.md").read_text()
    assert f"grade {ex.short_id}" in readme
    for entry in ex.api:
        assert entry.name in readme, entry.name


@pytest.mark.parametrize("exercise_id", IDS)
def test_stub_scores_zero_without_grader_errors(exercise_id, zygote):
    from grader.grading import grade

    card = grade(catalog.get(exercise_id), stub_path(exercise_id), zygote=zygote)
    assert card.checks and card.score == 0, [(c.id, c.status) for c in card.checks if c.points]
    for c in card.checks:
        assert "grader problem" not in c.message, (c.id, c.message)
        assert c.message and "\n" not in c.message, c.id


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_scores_full_marks(exercise_id, reference_card):
    card = reference_card(exercise_id)
    assert_full_marks(card)
    assert not card.problem


@pytest.mark.parametrize("exercise_id", IDS)
def test_public_tests_pass_on_reference_and_fail_on_stub(exercise_id, tmp_path):
    ex = catalog.get(exercise_id)
    folder = tmp_path / ex.id
    shutil.copytree(ex.exercise_dir(catalog.PROJECT_ROOT), folder)
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           "--rootdir", str(folder), "-c", "/dev/null", str(folder)]
    stub = subprocess.run(run, capture_output=True, text=True, cwd=folder)
    assert stub.returncode == 1, stub.stdout[-2000:]
    shutil.copy(ex.solution_path, folder / ex.filename)
    solved = subprocess.run(run, capture_output=True, text=True, cwd=folder)
    assert solved.returncode == 0, solved.stdout[-2000:]
