"""One scorecard as an HTML fragment (for a notebook's output): the score first, the causes
that hold several checks back, then the checks, each failure with its message and its
output folded in <details>. Inline styles only; every text is escaped."""

from __future__ import annotations

import html

from grader.render.terminal import causes
from grader.render.text import GRADER_FAULT, points, printable
from grader.scorecard import CheckResult, Scorecard

MAX_OUTPUT = 4000  # characters of a check's output shown in its <details>
MARKS = {"passed": ("PASS", "#1a7f37"), "failed": ("FAIL", "#cf222e"), "error": ("ERROR", "#cf222e"),
         "timeout": ("TIMEOUT", "#8250df"), "not-run": ("SKIP", "#9a6700"),
         "grader-error": ("GRADER", "#8250df")}
CELL = "padding:3px 8px;border-bottom:1px solid rgba(128,128,128,.25);text-align:left;vertical-align:top"


def h(text) -> str:
    """Student text made printable, then HTML-escaped (quotes too)."""
    return html.escape(printable(str(text)), quote=True)


def _output(text: str, summary: str) -> str:
    text = printable(text)
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + f"\n[... {len(text) - MAX_OUTPUT} more characters]"
    return (f'<details><summary style="cursor:pointer">{h(summary)}</summary>'
            f'<pre style="white-space:pre-wrap;margin:4px 0;font-size:90%">{html.escape(text)}</pre>'
            "</details>")


def _row(c: CheckResult) -> str:
    mark, color = MARKS.get(c.status, (c.status, "inherit"))
    check = h(c.title)
    if c.status != "passed" and c.message:
        check += f'<div style="color:{color}">→ {h(c.message)}</div>'
    if c.status != "passed" and c.output.strip():
        check += _output(c.output, "output")
    return (f'<tr><td style="{CELL};color:{color};font-weight:600">{mark}</td>'
            f'<td style="{CELL}">{check}</td><td style="{CELL}">{h(c.category)}</td>'
            f'<td style="{CELL};text-align:right">{points(c.points)}/{points(c.max_points)}</td></tr>')


def _table(rows: list[CheckResult]) -> str:
    head = "".join(f'<th style="{CELL}">{name}</th>' for name in ("status", "check", "category", "points"))
    return (f'<table style="border-collapse:collapse;margin:6px 0"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(_row(c) for c in rows)}</tbody></table>')


def render(card: Scorecard) -> str:
    """The scorecard as one self-contained HTML block (a notebook shows it)."""
    full = card.max_score > 0 and card.score == card.max_score
    parts = ['<div class="grader-scorecard" style="font-family:system-ui,sans-serif;line-height:1.4">',
             f'<div style="font-size:140%;font-weight:700;color:{"#1a7f37" if full else "inherit"}">'
             f"Score {points(card.score)}/{points(card.max_score)} ({card.percent:.0f}%)</div>",
             f'<div style="opacity:.75">{h(card.exercise)} — {h(card.title)} · graded in '
             f"{card.duration_s:.1f} s · {h(card.submission)}</div>"]
    if card.grader_error:
        parts.append(f'<p style="color:#8250df;font-weight:600">Grader error: {h(GRADER_FAULT)}</p>')
    folded = causes(card)
    if card.problem and not any(cause.message == card.problem for cause in folded):
        parts.append(f'<p style="color:#cf222e;font-weight:600">Problem: {h(card.problem)}</p>')
    for cause in folded:
        label = "Problem: " if cause.message == card.problem else ""
        parts.append(f'<div style="margin:8px 0"><div style="color:#cf222e;font-weight:600">'
                     f"{label}{h(cause.message)}</div>")
        if cause.output.strip():
            parts.append(f'<pre style="margin:2px 0;white-space:pre-wrap">{html.escape(printable(cause.output))}</pre>')
        parts.append(f'<details><summary style="cursor:pointer;opacity:.8">'
                     f"{h(cause.consequence(len(card.checks)))}</summary>{_table(cause.checks)}"
                     "</details></div>")
    hidden = {id(c) for cause in folded for c in cause.checks}
    rows = [c for c in card.checks if id(c) not in hidden]
    if rows:
        parts.append(_table(rows))
    cats = " · ".join(f"{h(k)} {points(v['score'])}/{points(v['max_score'])}"
                      for k, v in card.categories.items())
    parts.append(f'<div style="opacity:.75">by category: {cats}</div>')
    parts += [f'<div style="opacity:.6;font-size:90%">note: {h(n)}</div>' for n in card.notes]
    parts.append("</div>")
    return "\n".join(parts) + "\n"
