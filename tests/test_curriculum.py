"""Every exercise: complete folders, stub scores 0, reference scores full marks, public tests."""

import shutil
import subprocess
import sys

import pytest

from grader import catalog
from tests.harness import assert_full_marks, stub_path

IDS = [ex.id for ex in catalog.exercises()]


def test_catalog_finds_exercises():
    assert IDS and IDS == sorted(IDS)


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
