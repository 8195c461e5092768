"""Every exercise's kit judged by its hidden suite: the reference and every correct
alternative get full marks, the stub 0, each realistic mistake loses exactly the checks
its `# expect:` line names with messages that name it (solutions/<id>/mistakes/*.py,
alternatives/*.py; see grader/kit.py), and every check is failed by some mistake."""

import pytest

from grader import catalog, kit
from grader.grading import grade
from tests.harness import FAST_LIMITS, stub_path

IDS = [ex.id for ex in catalog.exercises()]
CASES = {ex_id: kit.cases(catalog.get(ex_id), stub_path(ex_id)) for ex_id in IDS}


def _params(kind):
    return [pytest.param(ex_id, case, id=f"{ex_id}-{case.name}")
            for ex_id, cases in CASES.items() for case in cases if case.kind == kind]


@pytest.mark.parametrize("exercise_id, case", _params("mistake"))
def test_mistake_is_caught(exercise_id, case, zygote):
    assert case.expect, f"{case.path} has no `# expect:` line"
    card = grade(catalog.get(exercise_id), case.path, zygote=zygote, limits=FAST_LIMITS)
    assert not kit.judge(case, card)


@pytest.mark.parametrize("exercise_id, case", _params("alternative"))
def test_correct_alternative_gets_full_marks(exercise_id, case, zygote):
    card = grade(catalog.get(exercise_id), case.path, zygote=zygote, limits=FAST_LIMITS)
    assert not kit.judge(case, card)


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_check_has_a_mistake_and_an_alternative(exercise_id, reference_card):
    cases = CASES[exercise_id]
    assert any(case.kind == "alternative" for case in cases)
    covered = set().union(*(case.expect or () for case in cases if case.kind == "mistake"))
    unguarded = {c.id for c in reference_card(exercise_id).checks} - covered
    assert not unguarded, f"no mistake fails {sorted(unguarded)}"


def test_header_of_a_mistake_is_read():
    expect, messages = kit.parse_header(
        "# expect: a, b\n# message: a: zero_grad\n# message: any text: here\nimport torch\n# expect: c\n")
    assert expect == {"a", "b"}
    assert messages == (("a", "zero_grad"), ("", "any text: here"))
