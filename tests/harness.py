"""Helpers for the project's tests: grade sources, mutate the reference, assert on scorecards.

A realistic mistake is written as edits to the reference solution (`mutate`), each edit
required to apply exactly once, so a test can never silently grade the unmodified
reference. A correct alternative is code appended to the reference that redefines
functions or classes in another style.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import catalog
from grader.grading import grade
from grader.scorecard import Scorecard
from grader.worker.limits import Limits

FAST_LIMITS = Limits(probe_seconds=5, submission_seconds=30)


def reference_source(exercise_id: str) -> str:
    return catalog.get(exercise_id).solution_path.read_text()


def stub_path(exercise_id: str) -> Path:
    ex = catalog.get(exercise_id)
    return ex.exercise_dir(catalog.PROJECT_ROOT) / ex.filename


def mutate(source: str, *edits: tuple[str, str]) -> str:
    """Apply (old, new) text edits; each `old` must occur exactly once."""
    for old, new in edits:
        count = source.count(old)
        assert count == 1, f"edit target occurs {count} times, expected once: {old!r}"
        source = source.replace(old, new)
    return source


def failures(card: Scorecard) -> dict[str, str]:
    return {c.id: c.message for c in card.checks if c.status != "passed"}


def assert_full_marks(card: Scorecard) -> None:
    assert card.max_score > 0
    assert card.score == card.max_score, failures(card)


@pytest.fixture
def grade_source(zygote, tmp_path):
    """grade_source(exercise_id, text_or_bytes, filename=None, limits=FAST_LIMITS) -> Scorecard."""

    def _grade(exercise_id: str, source, filename: str | None = None, limits: Limits = FAST_LIMITS):
        ex = catalog.get(exercise_id)
        path = tmp_path / (filename or ex.filename)
        if isinstance(source, str):
            path.write_text(source)
        else:
            path.write_bytes(source)
        return grade(ex, path, zygote=zygote, limits=limits)

    return _grade


@pytest.fixture
def reference_card(zygote):
    def _card(exercise_id: str) -> Scorecard:
        ex = catalog.get(exercise_id)
        return grade(ex, ex.solution_path, zygote=zygote)

    return _card
