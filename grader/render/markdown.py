"""Scorecard as GitHub-flavoured Markdown, e.g. for `$GITHUB_STEP_SUMMARY` or a batch report."""

from __future__ import annotations

import re

from grader.render.text import GRADER_FAULT, points, printable
from grader.scorecard import Scorecard

MAX_OUTPUT = 2000  # characters of a check's output shown under it
EMOJI = {"passed": "✅", "failed": "❌", "error": "💥", "timeout": "⏱️", "not-run": "⏭️",
         "grader-error": "⚠️"}


def cell(text: str) -> str:
    """Text safe inside one table cell: one line, pipes and HTML escaped."""
    text = " ".join(printable(text).split())
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(old, new)
    return text


def render(card: Scorecard) -> str:
    """The scorecard as Markdown (a step summary, a release body)."""
    mark = "✅" if card.max_score and card.score == card.max_score else "📝"
    lines = [f"## {mark} {cell(card.exercise)} — {cell(card.title)}: "
             f"{points(card.score)}/{points(card.max_score)} ({card.percent:.0f}%)", ""]
    if card.problem:
        lines += [f"> **Problem:** {cell(card.problem)}", ""]
    if card.grader_error:
        lines += [f"> ⚠️ **Grader error:** {cell(GRADER_FAULT)}", ""]
    lines += ["| | check | category | points | message |", "|:-:|---|---|--:|---|"]
    for c in card.checks:
        message = c.message if c.status != "passed" else ""
        lines.append(f"| {EMOJI.get(c.status, c.status)} | {cell(c.title)} | {cell(c.category)} "
                     f"| {points(c.points)}/{points(c.max_points)} | {cell(message)} |")
    cats = ", ".join(f"{cell(k)} {points(v['score'])}/{points(v['max_score'])}"
                     for k, v in card.categories.items())
    lines += ["", f"By category: {cats}. Graded in {card.duration_s:.1f} s "
              f"(`{cell(card.submission)}`)."]
    for c in card.checks:
        if c.status != "passed" and c.output.strip():
            lines += ["", f"<details><summary>{cell(c.title)}</summary>", "", *fenced(c.output),
                      "", "</details>"]
    lines += ["", *(f"<sub>note: {cell(n)}</sub>" for n in card.notes)]
    return "\n".join(lines) + "\n"


def fenced(text: str, limit: int = MAX_OUTPUT) -> list[str]:
    """`text` as a code block whose fence no line inside can close."""
    text = printable(text)
    if len(text) > limit:
        text = text[:limit] + f"\n[... {len(text) - limit} more characters]"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text.rstrip("\n"), fence]
