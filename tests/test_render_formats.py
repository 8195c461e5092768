"""Each output format, checked against what its consumer reads (README: Output formats)."""

import base64
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from grader import catalog
from grader.cli import main
from grader.render import RENDERERS, classroom, gradescope, junit, markdown
from grader.scorecard import CheckResult, Scorecard

NASTY = "bad\x00chars\x1b[31m <tag> & \"quotes\" | pipe \ud800 ```fence```"


def sample_card() -> Scorecard:
    checks = [
        CheckResult("api", "API matches the README", "api", 1.0, "passed", duration_s=0.01),
        CheckResult("values", "values are right", "values", 2.5, "failed",
                    "expected 3, not 4", "expected: 3\nactual:   4", 0.25),
        CheckResult("crash", "does not crash", "gradients", 2.0, "error",
                    "your code raised ValueError", "Traceback (your code):\n  ...", 0.5),
        CheckResult("slow", "finishes in time", "modes", 1.5, "timeout",
                    "took longer than 20 s and was stopped", "", 20.0),
        CheckResult("later", "a later check", "values", 1.0, "not-run",
                    "not run: the submission used up its 120 s time budget"),
        CheckResult("weird", NASTY, "values", 0.5, "failed", NASTY, NASTY),
    ]
    return Scorecard("exercise03_training_loop", "Training loop", "alice/training_loop.py",
                     checks, "0.1.0", notes=["ran without a sandbox"], duration_s=23.456,
                     graded_at="2025-01-31T12:00:00Z")


def full_card() -> Scorecard:
    checks = [CheckResult("a", "check a", "api", 1.0, "passed"),
              CheckResult("b", "check b", "values", 0.5, "passed")]
    return Scorecard("exercise01_autograd", "Autograd basics", "x.py", checks, "0.1.0")


def test_every_format_is_registered_and_renders_the_card():
    """Every format names the exercise and each check (by id or title), carries the message
    of each check that did not pass, and lets no raw control character or lone surrogate
    of student text through."""
    assert {"terminal", "json", "markdown", "junit", "gradescope", "classroom",
            "classroom50"} <= set(RENDERERS)
    for name, render in RENDERERS.items():
        card = sample_card()
        if name == "classroom50":  # whole points only
            for c in card.checks:
                c.max_points = float(round(c.max_points + 0.1))
        text = render(card)
        assert card.exercise in text, name
        for c in card.checks[:-1]:  # the last one's title and message are the nasty text
            assert c.id in text or c.title in text, (name, c.id)
            assert c.status == "passed" or c.message in text, (name, c.id)
        assert not {"\x00", "\x1b", "\ud800"} & set(text), name
        text.encode("utf-8")


def test_json_round_trips_including_graded_at():
    card = sample_card()
    data = json.loads(RENDERERS["json"](card))
    assert data["graded_at"] == "2025-01-31T12:00:00Z" and data["score"] == 1.0
    again = Scorecard.from_dict(data)
    assert again.to_dict() == card.to_dict()
    del data["graded_at"]  # cards written before the field existed still load
    assert Scorecard.from_dict(data).graded_at == ""


# ---------------------------------------------------------------- Markdown


def test_markdown_has_score_heading_and_one_table_row_per_check():
    text = markdown.render(sample_card())
    lines = text.splitlines()
    assert lines[0].startswith("## ") and "exercise03_training_loop" in lines[0]
    assert "1/8.5 (12%)" in lines[0]
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| |")]
    assert len(rows) == len(sample_card().checks)
    for row, emoji in zip(rows, ["✅", "❌", "💥", "⏱️", "⏭️", "❌"]):
        assert row.startswith(f"| {emoji} |")
        # every row has exactly the table's 5 cells: escaped pipes do not split cells
        assert len(row.replace("\\|", "").strip("|").split("|")) == 5
    assert "| 0/2.5 | expected 3, not 4 |" in text
    assert "<tag>" not in rows[-1] and "&lt;tag&gt;" in rows[-1]
    assert "\x00" not in text and "\x1b" not in text and "\ud800" not in text
    text.encode("utf-8")  # writable to $GITHUB_STEP_SUMMARY


def test_markdown_output_blocks_cannot_be_closed_by_student_text():
    text = markdown.render(sample_card())
    assert "<details><summary>values are right</summary>" in text
    # the nasty output holds ``` so its block uses a longer fence
    assert "````text" in text


def test_markdown_full_marks_and_problem():
    assert markdown.render(full_card()).startswith("## ✅ ")
    card = sample_card()
    card.problem = "training_loop.py has a syntax error at line 3"
    assert "> **Problem:** training_loop.py has a syntax error at line 3" in markdown.render(card)


# ---------------------------------------------------------------- JUnit XML


def test_junit_parses_and_carries_the_required_attributes():
    card = sample_card()
    root = ET.fromstring(junit.render(card).encode("utf-8"))
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for attr in ("name", "tests", "failures", "errors", "skipped", "time", "timestamp"):
        assert suite.get(attr), attr
    assert suite.get("name") == "exercise03_training_loop"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("6", "3", "1", "1")
    assert float(suite.get("time")) == pytest.approx(23.456)
    assert suite.get("timestamp") == "2025-01-31T12:00:00Z"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.id for c in card.checks]
    for case in cases:
        assert case.get("classname") == "exercise03_training_loop"
        float(case.get("time"))
    outcome = {c.get("name"): [child.tag for child in c] for c in cases}
    assert outcome == {"api": [], "values": ["failure"], "crash": ["error"], "slow": ["failure"],
                       "later": ["skipped"], "weird": ["failure"]}
    values = cases[1].find("failure")
    assert values.get("message") == "expected 3, not 4"
    assert "actual:   4" in values.text
    assert cases[4].find("skipped").get("message").startswith("not run")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["score"] == "1" and props["max_score"] == "8.5"
    assert props["points.values"] == "0/2.5" and props["points.api"] == "1/1"


def test_junit_strips_characters_xml_forbids():
    text = junit.render(sample_card())
    assert "\x00" not in text and "\x1b" not in text and "\ud800" not in text
    weird = ET.fromstring(text.encode("utf-8")).findall("testsuite/testcase")[-1].find("failure")
    assert "<tag> & \"quotes\"" in weird.get("message")  # escaped on the way out, intact back


def test_junit_without_graded_at_still_has_a_timestamp():
    card = full_card()
    suite = ET.fromstring(junit.render(card)).find("testsuite")
    assert suite.get("timestamp") and suite.get("failures") == "0"


# ---------------------------------------------------------------- Gradescope

# The results.json fields Gradescope documents (gradescope/autograder_samples docs/specs.md).
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"},
        "output": {"type": "string"}, "output_format": FORMAT, "test_output_format": FORMAT,
        "test_name_format": FORMAT, "visibility": VISIBILITY, "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"}, "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["score", "max_score", "name", "status"],
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "name_format": FORMAT, "number": {"type": "string"}, "output": {"type": "string"},
                "output_format": FORMAT, "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            }}},
    },
}


def test_gradescope_results_match_the_documented_schema():
    card = sample_card()
    text = gradescope.render(card)
    text.encode("ascii")  # lone surrogates and the like are escaped
    data = json.loads(text)
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == card.score == sum(t["score"] for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == card.max_score
    assert data["execution_time"] == pytest.approx(23.456)
    assert [t["number"] for t in data["tests"]] == [f"3.{i}" for i in range(1, 7)]
    assert [t["status"] for t in data["tests"]] == ["passed"] + ["failed"] * 5
    assert data["tests"][1]["tags"] == ["values"] and data["tests"][1]["visibility"] == "visible"
    assert data["tests"][1]["output"].startswith("expected 3, not 4")


# ---------------------------------------------------------------- GitHub Classroom


def reporter_totals(encoded_results: list[str]) -> tuple[float, float, list[str]]:
    """What autograding-grading-reporter@v1 computes (src/main.js, src/notify-classroom.js)."""
    total = maximum = 0.0
    statuses = []
    for encoded in encoded_results:
        results = json.loads(base64.b64decode(encoded).decode("utf-8"))
        statuses.append(results["status"])
        if not results["max_score"]:
            continue
        maximum += results["max_score"]
        for test in results["tests"]:
            total += test["score"]  # a missing score would make this NaN in JavaScript
    return total, maximum, statuses


def test_classroom_result_has_the_reporter_shape():
    data = json.loads(classroom.render(sample_card()))
    assert data["version"] == 1 and data["status"] == "fail" and data["max_score"] == 8.5
    card = sample_card()
    for test, c in zip(data["tests"], card.checks, strict=True):
        assert set(test) == {"name", "status", "score", "message", "test_code", "filename",
                             "line_no", "duration"}
        assert test["name"] == f"{c.title} [{c.category}]"
        assert test["score"] == c.points and (test["filename"], test["line_no"]) == ("", 0)
        assert test["message"] == ("" if c.status == "passed" else c.message)
        assert test["test_code"] == f"grade exercise03_training_loop :: {c.id}"
    assert [t["status"] for t in data["tests"]] == ["pass", "fail", "error", "fail", "fail", "fail"]
    assert [t["score"] for t in data["tests"]] == [1.0, 0, 0, 0, 0, 0]
    assert [t["duration"] for t in data["tests"]] == [10, 250, 500, 20000, 0, 0]  # whole milliseconds


def test_classroom_base64_sums_to_the_score_in_the_reporter():
    cards = [sample_card(), full_card()]
    total, maximum, statuses = reporter_totals([classroom.encoded(c) for c in cards])
    assert total == sum(c.score for c in cards) == 2.5
    assert maximum == sum(c.max_score for c in cards) == 10.0
    assert statuses == ["fail", "pass"]
    line = classroom.github_output(full_card())
    assert line.startswith("result=") and line.endswith("\n") and "\n" not in line[:-1]
    assert reporter_totals([line[len("result="):-1]])[:2] == (1.5, 1.5)


def test_classroom_partial_credit_is_kept():
    card = full_card()
    card.checks[1].status = "failed"
    total, maximum, _ = reporter_totals([classroom.encoded(card)])
    assert (total, maximum) == (1.0, 1.5)


def test_classroom_card_without_checks_is_an_error():
    card = Scorecard("exercise01_autograd", "Autograd basics", "x", [], "0.1.0",
                     problem="grader problem")
    assert classroom.result(card)["status"] == "error"


# ---------------------------------------------------------------- through the command line


def test_cli_renders_each_format_and_writes_github_output(tmp_path, monkeypatch):
    ex = catalog.get("exercise01")
    card = Scorecard(ex.id, ex.title, "x.py", full_card().checks, "0.1.0")
    monkeypatch.setattr("grader.cli._grade_now", lambda exercise, path: card)
    sub = tmp_path / ex.filename
    sub.write_text("pass\n")
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")
    runner = CliRunner()
    result = runner.invoke(main, ["exercise01", str(sub), "--format", "junit",
                                  "--classroom-output", str(out)])
    assert result.exit_code == 0, result.output
    suite = ET.fromstring(result.output.encode()).find("testsuite")
    assert [c.get("name") for c in suite.findall("testcase")] == ["a", "b"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "0")
    assert not suite.findall("testcase/*")
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1" and lines[1].startswith("result=")
    assert reporter_totals([lines[1][len("result="):]])[:2] == (1.5, 1.5)
    for fmt in ("markdown", "gradescope", "classroom", "json"):
        result = runner.invoke(main, ["exercise01", str(sub), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert result.output == RENDERERS[fmt](card), fmt  # the card, its timing set by the command
    assert json.loads(result.output)["score"] == 1.5
    saved = tmp_path / "card.json"
    saved.write_text(RENDERERS["json"](card))
    result = runner.invoke(main, ["render", str(saved), "--format", "markdown"])
    assert result.exit_code == 0 and result.output == markdown.render(card)
