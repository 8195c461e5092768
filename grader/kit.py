"""An exercise's kit: the submissions that prove its hidden suite right.

Beside the reference `solutions/<id>/<module>.py` live complete files of realistic
mistakes (`mistakes/*.py`) and of correct solutions written another way
(`alternatives/*.py`); the stub is `exercises/<id>/<module>.py`. A mistake's first lines
may say what it must lose:

    # expect: train_step_gradients, loss_decrease      exactly these checks fail
    # may fail: learns                                 and these may, by the luck of the inputs
    # message: train_step_gradients: zero_grad         that check's message names it (if it fails)
    # message: zero_grad                               some failing check's message names it

`may fail` is for a check whose purpose is another mistake, that this one trips on some
inputs only (a learning check on a mistake that slows learning down): salted runs draw other
inputs, and the verdict must hold for all of them.

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
    """One kit submission and what its verdict must be."""
    kind: str  # one of KINDS
    name: str
    path: Path
    expect: frozenset[str] | None = None  # a mistake: exactly these checks fail
    messages: tuple[tuple[str, str], ...] = ()  # (check id, or "" for any, text the message holds)
    maybe: frozenset[str] = frozenset()  # a mistake: these checks may fail too

    @property
    def label(self) -> str:
        return self.kind if self.kind in ("reference", "stub") else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Header:
    """What a mistake's first comment lines say it must lose."""
    expect: frozenset[str] | None = None
    messages: tuple[tuple[str, str], ...] = ()
    maybe: frozenset[str] = frozenset()


def _names(value: str) -> set[str]:
    return {v.strip() for v in value.split(",") if v.strip()}


def parse_header(text: str) -> Header:
    """The `# expect:`, `# may fail:` and `# message:` lines at the top of a mistake's source."""
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].strip().partition(":")
        fields.append((key.strip(), value.strip()))
    expects = [_names(v) for k, v in fields if k == "expect"]
    expect = frozenset(set().union(*expects)) if expects else None
    maybe = frozenset(set().union(*(_names(v) for k, v in fields if k == "may fail")))
    messages = []
    for key, value in fields:
        if key == "message":
            check, sep, fragment = value.partition(":")
            if sep and check.strip() in (expect or frozenset()) | maybe:
                messages.append((check.strip(), fragment.strip()))
            else:
                messages.append(("", value))
    return Header(expect, tuple(messages), maybe)


def cases(exercise: Exercise, stub: Path) -> list[Case]:
    """Reference, stub, mistakes and alternatives of `exercise` (those present), in that order."""
    found = [Case("reference", "reference", exercise.solution_path)]
    if stub.is_file():
        found.append(Case("stub", "stub", stub))
    folder = exercise.solution_path.parent
    for path in sorted((folder / "mistakes").glob("*.py")):
        header = parse_header(path.read_text(encoding="utf-8"))
        found.append(Case("mistake", path.stem, path, header.expect, header.messages, header.maybe))
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
        if extra := sorted(set(failed) - case.expect - case.maybe):
            problems.append("also failed " + ", ".join(f"{c} ({failed[c]})" for c in extra))
        if missed := sorted(case.expect - set(failed)):
            problems.append("did not fail " + ", ".join(missed))
    for check, fragment in case.messages:
        if check in case.maybe and check not in failed:
            continue
        where = [failed[check]] if check in failed else [] if check else list(failed.values())
        if not any(fragment.lower() in message.lower() for message in where):
            problems.append(f"no message{' of ' + check if check else ''} says {fragment!r}")
    return problems
