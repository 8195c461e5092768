"""Scorecard as Gradescope's results.json (gradescope/autograder_samples, docs/specs.md)."""

from __future__ import annotations

import json
import re

from grader.render.text import GRADER_FAULT
from grader.scorecard import Scorecard


def _number(exercise: str) -> str:
    match = re.match(r"exercise(\d+)", exercise)
    return str(int(match.group(1))) if match else "1"


def results(card: Scorecard) -> dict:
    """The results.json object; `score` is given, so Gradescope shows exactly our total."""
    prefix = _number(card.exercise)
    summary = (f"{card.exercise} — {card.title}: {card.score:g}/{card.max_score:g} "
               f"({card.percent:.0f}%)")
    problem = f"Problem: {card.problem}" if card.problem else ""
    fault = f"GRADER ERROR: {GRADER_FAULT}." if card.grader_error else ""
    output = "\n".join(part for part in (fault, summary, problem, *card.notes) if part)
    tests = []
    for i, c in enumerate(card.checks, start=1):
        text = "\n\n".join(part for part in (c.message if c.status != "passed" else "", c.output)
                           if part)
        tests.append({
            "name": c.title,
            "number": f"{prefix}.{i}",
            "score": c.points,
            "max_score": c.max_points,
            "status": "passed" if c.status == "passed" else "failed",
            "output": text,
            "output_format": "text",
            "tags": [c.category],
            "visibility": "visible",
            "extra_data": {"check": c.id, "grader_status": c.status},
        })
    return {
        "score": card.score,
        "execution_time": round(card.duration_s, 3),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"exercise": card.exercise, "max_score": card.max_score,
                       "grader_version": card.grader_version, "grader_error": card.grader_error,
                       "grader_fault": card.grader_fault},
        "tests": tests,
    }


def render(card: Scorecard) -> str:
    """Gradescope's results.json for one scorecard."""
    return json.dumps(results(card), indent=2) + "\n"
