"""Scorecard for a terminal: a rich table in colour on a tty, plain text otherwise.

The score comes first. Checks blocked by one shared cause (an unimplemented function, a
function that hung, a file that does not import) collapse into one line naming it and the
points waiting on it; `verbose=True` lists every check instead.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.render.text import GRADER_FAULT, points, printable
from grader.scorecard import CheckResult, Scorecard, Status

MARKS = {Status.PASSED: ("PASS", "green"), Status.FAILED: ("FAIL", "red"), Status.ERROR: ("ERROR", "red"),
         Status.TIMEOUT: ("TIMEOUT", "magenta"), Status.NOT_RUN: ("SKIP", "yellow"),
         Status.GRADER_ERROR: ("GRADER", "bold magenta")}


@dataclass
class Cause:
    """One message shared by the checks it holds back, with their common output (if any)."""

    message: str
    checks: list[CheckResult]
    output: str

    @property
    def max_points(self) -> float:
        return sum(c.max_points for c in self.checks)

    def consequence(self, total: int) -> str:
        """`→ 4 checks (5 points) wait on it`."""
        n = len(self.checks)
        which = f"all {n} checks" if n == total and n > 1 else f"{n} check{'s' * (n != 1)}"
        return f"→ {which} ({points(self.max_points)} point{'s' * (self.max_points != 1)}) wait on it"


BLOCKED = (Status.ERROR, Status.TIMEOUT, Status.NOT_RUN)  # the check could not look at the behaviour at all


def causes(card: Scorecard) -> list[Cause]:
    """The messages shared by two or more blocked checks (or the card's problem), first
    seen first. Mistakes (failed) and grader errors are never folded."""
    groups: dict[str, list[CheckResult]] = {}
    for c in card.checks:
        if c.status in BLOCKED and c.message:
            groups.setdefault(c.message, []).append(c)
    found = []
    for message, checks in groups.items():
        if len(checks) >= 2 or message == card.problem:
            outputs = {c.output for c in checks}
            found.append(Cause(message, checks, outputs.pop() if len(outputs) == 1 else ""))
    return found


def render(card: Scorecard, color: bool | None = None, width: int = 100,
           verbose: bool = False) -> str:
    """The scorecard as text; `color=None` means colour only when stdout is a tty."""
    if color is None:
        color = os.isatty(1) and "NO_COLOR" not in os.environ
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, force_jupyter=False, no_color=not color,
                      width=width, highlight=False, emoji=False)  # text even inside a notebook
    console.print(Text(f"{card.exercise} — {card.title}", style="bold"))
    style = "bold green" if card.score == card.max_score else "bold"
    console.print(Text(f"score: {points(card.score)}/{points(card.max_score)} "
                       f"({card.percent:.0f}%) in {card.duration_s:.1f} s", style=style))
    console.print(Text(f"submission: {printable(card.submission)}", style="dim"))
    if card.grader_error:
        console.print(Text(f"GRADER ERROR: {GRADER_FAULT}", style="bold magenta"))
    folded = [] if verbose else causes(card)
    if card.problem and not any(cause.message == card.problem for cause in folded):
        console.print(Text(f"problem: {printable(card.problem)}", style="bold red"))
        detail = next((c.output for c in card.checks if c.message == card.problem), "")
        if _short(detail):
            console.print(Text(printable(detail)))
    for cause in folded:
        prefix = "problem: " if cause.message == card.problem else ""
        console.print(Text(f"{prefix}{printable(cause.message)}", style="bold red"))
        if prefix and _short(cause.output):  # e.g. the line of a syntax error with a caret
            console.print(Text(printable(cause.output)))
        console.print(Text(f"  {cause.consequence(len(card.checks))}", style="dim"))
    hidden = {id(c) for cause in folded for c in cause.checks}
    rows = [c for c in card.checks if id(c) not in hidden]
    if rows:
        console.print(_table(rows, color))
    cats = "  ".join(f"{k} {points(v['score'])}/{points(v['max_score'])}"
                     for k, v in card.categories.items())
    console.print(Text(f"by category: {cats}", style="dim"))
    if hidden:
        console.print(Text(f"(--verbose lists all {len(card.checks)} checks)", style="dim"))
    for note in card.notes:
        console.print(Text(f"note: {note}", style="dim"))
    return buf.getvalue()


def _short(output: str) -> bool:
    """Output brief enough for the first screen (a source line and its caret)."""
    return bool(output.strip()) and output.count("\n") < 2


def _table(rows: list[CheckResult], color: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII, show_edge=color, pad_edge=False)
    for name, justify in (("status", "left"), ("check", "left"), ("category", "left"),
                          ("points", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    for c in rows:
        mark, style = MARKS.get(c.status, (c.status, ""))
        title = Text(printable(c.title))
        if c.message and c.status != Status.PASSED:
            title.append(f"\n  → {printable(c.message)}", style=style)
        table.add_row(Text(mark, style=style), title, c.category,
                      f"{points(c.points)}/{points(c.max_points)}")
    return table
