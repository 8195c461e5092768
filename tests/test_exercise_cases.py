"""Every exercise's kit judged by its hidden suite: the reference and every correct
alternative get full marks, the stub 0, each realistic mistake loses exactly the checks
its `# expect:` line names with messages that name it (solutions/<id>/mistakes/*.py,
alternatives/*.py; see grader/kit.py), and every check is failed by some mistake."""

from pathlib import Path

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
    header = kit.parse_header(
        "# expect: a, b\n# message: a: zero_grad\n# message: any text: here\n# message: c: slow\n"
        "# may fail: c\nimport torch\n# expect: d\n")
    assert header.expect == {"a", "b"} and header.maybe == {"c"}
    assert header.messages == (("a", "zero_grad"), ("", "any text: here"), ("c", "slow"))


def test_may_fail_checks_are_judged_only_when_they_fail():
    from grader.scorecard import CheckResult, Scorecard

    case = kit.Case("mistake", "m", Path("m.py"), frozenset({"a"}), (("c", "slow"),), frozenset({"c"}))

    def card(**failed):
        checks = [CheckResult(i, "", "values", 1, "failed" if i in failed else "passed", failed.get(i, ""))
                  for i in ("a", "b", "c")]
        return Scorecard("ex", "Ex", "m.py", checks, "0")

    assert kit.judge(case, card(a="wrong")) == []
    assert kit.judge(case, card(a="wrong", c="too slow")) == []
    assert kit.judge(case, card(a="wrong", c="fast")) == ["no message of c says 'slow'"]
    assert kit.judge(case, card(a="wrong", b="x")) == ["also failed b (x)"]
    assert kit.judge(case, card(c="too slow")) == ["did not fail a"]
