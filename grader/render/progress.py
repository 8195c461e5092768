"""The live progress of a batch: a rich display at a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from grader.scorecard import Scorecard

if TYPE_CHECKING:
    from grader.batch.plan import Task

# ------------------------------------------------------------------ progress


class PlainProgress:
    """One line per finished task, for logs and pipes; when none has finished for `QUIET_S`
    seconds, a line naming the submissions in flight and how long each has run."""

    QUIET_S = 30.0

    def __init__(self, total: int, done: int = 0, stream=None):
        self.total, self.done, self.stream = total, done, stream or sys.stdout
        self.started: dict[Task, float] = {}  # in flight → when it started (monotonic)
        self.quiet_since = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def in_flight(self) -> list[str]:
        """'student exercise (N s)' for each task in flight, longest running first."""
        now = time.monotonic()
        started = self.started.copy()  # a display thread may read while the pool writes
        return [f"{t.student} {t.exercise} ({now - since:.0f} s)"
                for t, since in sorted(started.items(), key=lambda kv: kv[1])]

    def start(self, task: Task) -> None:
        self.started[task] = time.monotonic()

    def advance(self, task: Task, card: Scorecard) -> None:
        self.started.pop(task, None)
        self.done += 1
        self.quiet_since = time.monotonic()
        tail = f" — {card.problem}" if card.problem else ""
        print(f"[{self.done}/{self.total}] {task.student} {task.exercise}: "
              f"{card.score:g}/{card.max_score:g}{tail}", file=self.stream, flush=True)

    def poll(self) -> None:
        if self.started and time.monotonic() - self.quiet_since >= self.QUIET_S:
            self.quiet_since = time.monotonic()
            print(f"[{self.done}/{self.total}] still grading: {', '.join(self.in_flight())}",
                  file=self.stream, flush=True)


class RichProgress(PlainProgress):
    """A bar with done/total, rate and time left, and under it the submissions in flight
    with how long each has run, for a terminal."""

    def __init__(self, total: int, done: int = 0, console=None):
        super().__init__(total, done)
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                return Text(f"{task.speed:.2f}/s" if task.speed else "–/s", style="cyan")

        bar = self

        class Live(Progress):
            def get_renderables(self):
                yield self.make_tasks_table(self.tasks)
                for line in bar.in_flight():
                    yield Text(f"  grading {line}", style="dim")

        self.progress = Live(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                             Rate(), TimeElapsedColumn(), TextColumn("ETA"),
                             TimeRemainingColumn(), console=console)
        self.task = self.progress.add_task("", total=total, completed=done)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def advance(self, task: Task, card: Scorecard) -> None:
        self.started.pop(task, None)
        self.done += 1
        self.progress.update(self.task, advance=1)

    def poll(self) -> None:
        """Nothing to do: the display refreshes itself."""


def make_progress(total: int, done: int = 0, stream=None):
    """A progress display for `total` tasks: a live bar at a terminal, plain lines elsewhere."""
    stream = stream or sys.stdout
    return RichProgress(total, done) if stream.isatty() else PlainProgress(total, done, stream)


