"""Every hidden check catches a realistic mistake, and correct solutions in other styles pass.

The cases live in tests/cases/<exercise id>.py: MISTAKES maps a name to (edits of the
reference, {check id: message fragment}) and ALTERNATIVES maps a name to code appended to
the reference that redefines functions or classes in another style.
"""

import importlib

import pytest

from grader import catalog
from tests.harness import (assert_every_check_has_a_mistake, assert_full_marks,
                           assert_loses_exactly, mutate, reference_source)

IDS = [ex.id for ex in catalog.exercises()]
CASES = {ex_id: importlib.import_module(f"tests.cases.{ex_id}") for ex_id in IDS}


def _params(attribute):
    return [pytest.param(ex_id, name, id=f"{ex_id}-{name}")
            for ex_id, cases in CASES.items() for name in getattr(cases, attribute)]


@pytest.mark.parametrize("exercise_id, name", _params("MISTAKES"))
def test_mistake_is_caught(exercise_id, name, grade_source):
    edits, expected = CASES[exercise_id].MISTAKES[name]
    card = grade_source(exercise_id, mutate(reference_source(exercise_id), *edits))
    assert_loses_exactly(card, expected)


@pytest.mark.parametrize("exercise_id, name", _params("ALTERNATIVES"))
def test_correct_alternative_gets_full_marks(exercise_id, name, grade_source):
    alternative = CASES[exercise_id].ALTERNATIVES[name]
    assert_full_marks(grade_source(exercise_id, reference_source(exercise_id) + alternative))


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_check_has_a_mistake_and_an_alternative(exercise_id, reference_card):
    assert CASES[exercise_id].ALTERNATIVES
    assert_every_check_has_a_mistake(reference_card(exercise_id), CASES[exercise_id].MISTAKES)
