"""An exercise's kit: the submissions that prove its hidden suite right.

Beside the reference `solutions/<id>/<module>.py` live complete files of realistic
mistakes (`mistakes/*.py`) and of correct solutions written another way
(`alternatives/*.py`); the stub is `exercises/<id>/<module>.py`. A mistake's first lines
may say what it must lose:

    # expect: train_step_gradients, loss_decrease      exactly these checks fail
    # message: train_step_gradients: zero_grad         that check's message names it
    # message: zero_grad                               some failing check's message names it

The kit is what `grade references build` grades to record every reference result a
suite can ask for, and what the project's tests (and `grade audit`) judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.catalog import Exercise
from grader.scorecard import Scorecard, Status

KINDS = ("reference", "stub", "mistake", "alternative")


@dataclass(frozen=True)
class Case:
    kind: str  # one of KINDS
    name: str
    path: Path
    expect: frozenset[str] | None = None  # a mistake: exactly these checks fail
    messages: tuple[tuple[str, str], ...] = ()  # (check id, or "" for any, text the message holds)

    @property
    def label(self) -> str:
        return self.kind if self.kind in ("reference", "stub") else f"{self.kind} {self.name}"


def parse_header(text: str) -> tuple[frozenset[str] | None, tuple[tuple[str, str], ...]]:
    """The `# expect:` and `# message:` lines at the top of a mistake's source."""
    expect: set[str] | None = None
    messages = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].strip().partition(":")
        value = value.strip()
        if key == "expect":
            expect = (expect or set()) | {v.strip() for v in value.split(",") if v.strip()}
        elif key == "message":
            check, sep, fragment = value.partition(":")
            if sep and expect is not None and check.strip() in expect:
                messages.append((check.strip(), fragment.strip()))
            else:
                messages.append(("", value))
    return (frozenset(expect) if expect is not None else None), tuple(messages)


def cases(exercise: Exercise, stub: Path) -> list[Case]:
    """Reference, stub, mistakes and alternatives of `exercise` (those present), in that order."""
    found = [Case("reference", "reference", exercise.solution_path)]
    if stub.is_file():
        found.append(Case("stub", "stub", stub))
    folder = exercise.solution_path.parent
    for path in sorted((folder / "mistakes").glob("*.py")):
        expect, messages = parse_header(path.read_text(encoding="utf-8"))
        found.append(Case("mistake", path.stem, path, expect, messages))
    for path in sorted((folder / "alternatives").glob("*.py")):
        found.append(Case("alternative", path.stem, path))
    return found


def _failures(card: Scorecard) -> dict[str, str]:
    return {c.id: c.message for c in card.checks if c.status != Status.PASSED}


def judge(case: Case, card: Scorecard) -> list[str]:
    """What is wrong with `card` as a verdict on `case`; empty when the suite got it right."""
    if card.grader_error:
        faults = [f"{c.id}: {c.message}" for c in card.checks if c.status == Status.GRADER_ERROR]
        return [f"grader error: {card.grader_fault or '; '.join(faults)}"]
    failed = _failures(card)
    if case.kind in ("reference", "alternative"):
        if card.max_score <= 0:
            return ["the suite has no checks"]
        return [f"lost {check}: {message}" for check, message in failed.items()]
    if case.kind == "stub":
        return [] if card.score == 0 else [f"scored {card.score:g}, expected 0"]
    if not failed:
        return ["caught by no check"]
    problems = []
    if case.expect is not None:
        if extra := sorted(set(failed) - case.expect):
            problems.append("also failed " + ", ".join(f"{c} ({failed[c]})" for c in extra))
        if missed := sorted(case.expect - set(failed)):
            problems.append("did not fail " + ", ".join(missed))
    for check, fragment in case.messages:
        where = [failed[check]] if check in failed else [] if check else list(failed.values())
        if not any(fragment.lower() in message.lower() for message in where):
            problems.append(f"no message{' of ' + check if check else ''} says {fragment!r}")
    return problems
