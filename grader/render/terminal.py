"""Scorecard for a terminal: a rich table in colour on a tty, plain text otherwise."""

from __future__ import annotations

import io
import os

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.render.text import GRADER_FAULT, points, printable
from grader.scorecard import Scorecard

MARKS = {"passed": ("PASS", "green"), "failed": ("FAIL", "red"), "error": ("ERROR", "red"),
         "timeout": ("TIMEOUT", "magenta"), "not-run": ("SKIP", "yellow"),
         "grader-error": ("GRADER", "bold magenta")}


def render(card: Scorecard, color: bool | None = None, width: int = 100) -> str:
    """The scorecard as text; `color=None` means colour only when stdout is a tty."""
    if color is None:
        color = os.isatty(1) and "NO_COLOR" not in os.environ
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width,
                      highlight=False, emoji=False)
    console.print(Text(f"{card.exercise} — {card.title}", style="bold"))
    console.print(Text(f"submission: {printable(card.submission)}", style="dim"))
    if card.problem:
        console.print(Text(f"problem: {printable(card.problem)}", style="bold red"))
    if card.grader_error:
        console.print(Text(f"GRADER ERROR: {GRADER_FAULT}", style="bold magenta"))
    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII, show_edge=color, pad_edge=False)
    for name, justify in (("status", "left"), ("check", "left"), ("category", "left"),
                          ("points", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    for c in card.checks:
        mark, style = MARKS.get(c.status, (c.status, ""))
        title = Text(printable(c.title))
        if c.message and c.status != "passed":
            title.append(f"\n  → {printable(c.message)}", style=style)
        table.add_row(Text(mark, style=style), title, c.category,
                      f"{points(c.points)}/{points(c.max_points)}")
    console.print(table)
    cats = "  ".join(f"{k} {points(v['score'])}/{points(v['max_score'])}"
                     for k, v in card.categories.items())
    console.print(Text(f"by category: {cats}", style="dim"))
    style = "bold green" if card.score == card.max_score else "bold"
    console.print(Text(f"score: {points(card.score)}/{points(card.max_score)} "
                       f"({card.percent:.0f}%) in {card.duration_s:.1f} s", style=style))
    for note in card.notes:
        console.print(Text(f"note: {note}", style="dim"))
    return buf.getvalue()
