"""A submission whose function returns the wrong kind of thing (None: a forgotten return; a
string; a 0-dim tensor, e.g. a loss without .item(); a pair) is graded with messages, never a
grader fault: the probes' declared result types (typed.py) must leave room for whatever a
student's code hands back. (Where the README has the function return nothing, such as
save(), it keeps full marks.)"""

import pytest

from grader import catalog
from grader.grading import grade
from tests.harness import FAST_LIMITS

BUILTIN = [ex for ex in catalog.exercises() if ex.course.builtin]

WRAP = '''

import functools as _functools

import torch as _torch


def _returning_odd(function):
    @_functools.wraps(function)
    def odd(*args, **kwargs):
        function(*args, **kwargs)
        return {odd}
    return odd


for _name in {functions!r}:
    globals()[_name] = _returning_odd(globals()[_name])
for _name in {classes!r}:
    for _method, _value in list(vars(globals()[_name]).items()):
        if callable(_value) and (not _method.startswith("_") or _method == "__getitem__"):
            setattr(globals()[_name], _method, _returning_odd(_value))
'''


CASES = [(ex, entry) for ex in BUILTIN for entry in ex.api]


@pytest.mark.parametrize("odd", ["None", "'odd'", "_torch.tensor(0.5)", "(1.0, 2.0)"],
                         ids=["None", "str", "tensor", "pair"])
@pytest.mark.parametrize("exercise, entry", CASES, ids=[f"{ex.short_id}-{e.name}" for ex, e in CASES])
def test_odd_returns_are_the_students_mistake(exercise, entry, odd, tmp_path, zygote):
    """One API name at a time returns `odd`, an expression (a function; a class's forward and
    other public methods), the rest stay the reference's."""
    functions = [entry.name] if entry.kind == "function" else []
    classes = [entry.name] if entry.kind == "class" else []
    submission = tmp_path / exercise.filename
    submission.write_text(exercise.solution_path.read_text()
                          + WRAP.format(odd=odd, functions=functions, classes=classes))
    card = grade(exercise, submission, zygote=zygote, limits=FAST_LIMITS)
    faults = [f"{c.id}: {c.message}" for c in card.checks if c.status == "grader-error"]
    assert card.checks and not card.grader_error, "\n".join(faults) or card.grader_fault
