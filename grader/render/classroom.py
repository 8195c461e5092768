"""Scorecard as the result JSON GitHub Classroom's autograding-grading-reporter@v1 reads.

The reporter sums `tests[].score` for the points and takes `max_score` as the maximum;
each grading step hands it the JSON base64-encoded in the step output `result`.
"""

from __future__ import annotations

import base64
import json

from grader.scorecard import Scorecard, Status

_TEST_STATUS = {Status.PASSED: "pass", Status.ERROR: "error", Status.GRADER_ERROR: "error"}  # others → fail


def result(card: Scorecard) -> dict:
    """The reporter's result JSON for one scorecard."""
    if not card.checks or card.grader_error:
        status = "error"
    else:
        status = "pass" if card.score == card.max_score else "fail"
    tests = [{
        "name": f"{c.title} [{c.category}]",
        "status": _TEST_STATUS.get(c.status, "fail"),
        "score": c.points,
        "message": c.message if c.status != Status.PASSED else "",
        "test_code": f"grade {card.exercise} :: {c.id}",
        "filename": "",
        "line_no": 0,
        "duration": int(round(c.duration_s * 1000)),
    } for c in card.checks]
    return {"version": 1, "status": status, "max_score": card.max_score, "tests": tests}


def render(card: Scorecard) -> str:
    """The result JSON as text."""
    return json.dumps(result(card), indent=2) + "\n"


def encoded(card: Scorecard) -> str:
    """base64 of the compact result JSON: the value of the step output `result`."""
    compact = json.dumps(result(card), separators=(",", ":"))
    return base64.b64encode(compact.encode("utf-8")).decode("ascii")


def github_output(card: Scorecard) -> str:
    """The line to append to `$GITHUB_OUTPUT`: ``result=<base64>``."""
    return f"result={encoded(card)}\n"
