"""Scorecard as Classroom 50's result.json (foundation50/classroom50, schemas/result-v1).

The runner runs the classroom's autograder in the student's checkout with the submission's
identity in the environment (CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL,
RELEASE_URL, REVIEW_URL); the result repeats it. `score` and `max-score` must be integers
and no top-level field may be added, so a fractional total is refused, never rounded.
"""

from __future__ import annotations

import json
import os

from grader.render.text import printable
from grader.scorecard import Scorecard, Status

SCHEMA = "classroom50/result/v1"


class FractionalPoints(ValueError):
    """Classroom 50 counts whole points only."""


def _whole(value: float, what: str) -> int:
    if value != int(value):
        raise FractionalPoints(f"{what} is {value:g}: Classroom 50 accepts whole points only; "
                               "give every check a whole number of points")
    return int(value)


def result(card: Scorecard, env: dict | None = None) -> dict:
    """The result object; identity from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    commit = env.get("COMMIT_URL", "")
    tests = [{
        "test-name": printable(c.title or c.id),
        "passed": c.status == Status.PASSED,
        "score": _whole(c.points, f"the points of {c.id}"),
        "max-score": _whole(c.max_points, f"the points of {c.id}"),
        "message": printable(c.message) if c.status != Status.PASSED else "",
        "status": str(c.status),
        "category": c.category,
        "check": c.id,
    } for c in card.checks]
    return {
        "schema": SCHEMA,
        "classroom": env.get("CLASSROOM", ""),
        "assignment": env.get("ASSIGNMENT", card.exercise),
        "submission": env.get("SUBMISSION_TAG") or "submit/local",
        "commit": commit,
        "release": env.get("RELEASE_URL", ""),
        "review": env.get("REVIEW_URL") or commit,
        "score": sum(t["score"] for t in tests),
        "max-score": sum(t["max-score"] for t in tests),
        "tests": tests,
    }


def render(card: Scorecard) -> str:
    """Classroom 50's result.json for one scorecard."""
    return json.dumps(result(card), indent=2, ensure_ascii=False) + "\n"
