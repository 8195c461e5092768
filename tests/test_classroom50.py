"""Classroom 50's result.json: valid against its schema and cross-field rules, identity
from the runner's environment, whole points only (a fractional total is refused)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import jsonschema
import pytest

from grader.render import classroom50
from grader.scorecard import CheckResult, Scorecard, Status
from tests.test_render_formats import full_card, sample_card

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "classroom50-result-v1.json").read_text())
ENV = {"CLASSROOM": "dl101", "ASSIGNMENT": "exercise03", "USERNAME": "octocat",
       "SUBMISSION_TAG": "submit/20261202T101500Z-abc1234",
       "COMMIT_URL": "https://github.com/dl101/ex03-octocat/commit/abc1234",
       "RELEASE_URL": "https://github.com/dl101/ex03-octocat/releases/tag/submit/20261202T101500Z-abc1234",
       "REVIEW_URL": ""}


def validate(text: str, env: dict) -> dict:
    """The schema, then what it cannot say: integers as written, score ≤ max, identity."""
    result = json.loads(text)
    jsonschema.validate(result, SCHEMA)
    for where in [result, *result["tests"]]:
        assert type(where["score"]) is int and type(where["max-score"]) is int, where
        assert where["score"] <= where["max-score"], where
    assert result["classroom"] == env["CLASSROOM"] and result["assignment"] == env["ASSIGNMENT"]
    assert result["score"] == sum(t["score"] for t in result["tests"])
    assert len(text.encode()) <= 10 << 20
    return result


def whole(card: Scorecard) -> Scorecard:
    """The card with every check worth a whole number of points (as every built-in check is)."""
    return dataclasses.replace(card, checks=[dataclasses.replace(c, max_points=float(math.ceil(c.max_points)))
                                             for c in card.checks])


@pytest.mark.parametrize("card", [whole(sample_card()), whole(full_card())], ids=["mixed", "full"])
def test_result_is_valid(card, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    result = validate(classroom50.render(card), ENV)
    assert result["review"] == ENV["COMMIT_URL"]  # REVIEW_URL may be empty
    assert result["submission"] == ENV["SUBMISSION_TAG"]
    failed = [t for t in result["tests"] if not t["passed"]]
    assert all(t["message"] and t["status"] != "passed" and t["category"] for t in failed)
    assert result["max-score"] == card.max_score and result["score"] == card.score


def test_fractional_points_are_refused_not_rounded():
    card = Scorecard("exercise03_training_loop", "t", "s",
                     [CheckResult("a", "A", "api", 0.5, Status.PASSED)], "0.1")
    with pytest.raises(classroom50.FractionalPoints, match="0.5"):
        classroom50.result(card, ENV)


def test_a_cli_fractional_total_is_one_line_and_exit_3(monkeypatch):
    from click.testing import CliRunner

    from grader import cli

    card = Scorecard("exercise01_autograd", "t", "s",
                     [CheckResult("a", "A", "api", 1.5, Status.FAILED)], "0.1")
    monkeypatch.setattr(cli, "_grade_now", lambda ex, path: card)
    result = CliRunner().invoke(cli.main, ["exercise01", __file__, "--format", "classroom50"])
    assert result.exit_code == cli.GRADER_FAULT
    assert result.stderr.count("\n") == 1 and "whole points" in result.stderr
