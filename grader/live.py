"""What a student sees while grading runs: the live probe line, the time waited, and
`grade exerciseNN --watch` (re-grade on every save, say what changed)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from grader.catalog import Exercise
from grader.scorecard import Scorecard, Status
from grader.submission import locate

_IMPORTED = time.monotonic()


def process_age() -> float:
    """Seconds since this process started (interpreter start-up included where /proc says)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        ticks = int(stat[stat.rindex(b")") + 2:].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        if age >= 0:
            return age
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return time.monotonic() - _IMPORTED


def stopwatch() -> Callable[[], float]:
    """A clock of the time the student has waited: from this process's start when it runs
    the `grade` command itself (start-up and imports included), else from now."""
    if os.path.basename(sys.argv[0]) in ("grade", "__main__.py"):
        offset = process_age() - time.monotonic()
    else:
        offset = -time.monotonic()
    return lambda: time.monotonic() + offset


class ProbeLine:
    """At a terminal, one line on stderr naming the probe that runs and for how long;
    call it with each probe's name, use it as a context manager. Silent elsewhere."""

    def __init__(self, label: str, filename: str, stream=None):
        self.label, self.filename = label, filename
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() and os.environ.get("TERM") != "dumb"
        self._probe, self._since = "", time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def __call__(self, probe: str) -> None:
        self._probe, self._since = probe, time.monotonic()

    def __enter__(self) -> "ProbeLine":
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self._write("")

    def text(self) -> str:
        what = {"": "starting", "__api__": f"importing {self.filename}"}.get(
            self._probe, f"running probe {self._probe}")
        return f"{self.label}: {what} ({time.monotonic() - self._since:.0f} s)"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            self._write(self.text())


def changes(before: Scorecard, after: Scorecard) -> str:
    """One line: the score's move and the checks that flipped since `before`."""
    was = {c.id: c.status == Status.PASSED for c in before.checks}
    now_passing = [c.id for c in after.checks if c.status == Status.PASSED and was.get(c.id) is False]
    now_failing = [c.id for c in after.checks if c.status != Status.PASSED and was.get(c.id) is True]
    parts = [f"score {before.score:g} → {after.score:g}/{after.max_score:g}"]
    if now_passing:
        parts.append("now passing: " + ", ".join(now_passing))
    if now_failing:
        parts.append("now failing: " + ", ".join(now_failing))
    if not (now_passing or now_failing):
        parts.append("no check changed")
    return "since the last save: " + "; ".join(parts)


class Grader:
    """Grades rounds through the warm server while it answers, else here with one
    GradingSession kept for every round."""

    def __init__(self, exercise: Exercise):
        self.exercise = exercise
        self.session = None

    def grade(self, path: Path, on_probe: Callable[[str], None] | None = None) -> Scorecard:
        from grader import server

        start = time.monotonic()
        card = None
        if self.session is None and server.enabled():
            card = server.grade(self.exercise, path, on_probe=on_probe)
        if card is None:
            from grader.session import GradingSession

            if self.session is None:
                self.session = GradingSession([self.exercise])
            card = self.session.grade(self.exercise, path, on_probe=on_probe).stamp()
        card.duration_s = time.monotonic() - start
        return card

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def watch(exercise: Exercise, path: Path, render: Callable[[Scorecard], str], *,
          out=None, poll_s: float = 0.25, settle_s: float = 0.15, rounds: int | None = None) -> int:
    """Grade `path` now and again after every save until Ctrl-C (or `rounds` rounds);
    returns how many rounds ran."""
    out = sys.stdout if out is None else out
    target = locate(exercise, path)
    grader = Grader(exercise)
    clear = out.isatty() and os.environ.get("TERM") != "dumb"
    last: Scorecard | None = None
    done = 0
    interrupted = []

    def interrupt(signum, frame):  # pytest turns Ctrl-C into a result: remember it was pressed
        interrupted.append(True)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        seen = None
        while rounds is None or done < rounds:
            current = _signature(target)
            if current is None or current == seen:
                time.sleep(poll_s)
                continue
            time.sleep(settle_s)  # let an editor finish writing
            if _signature(target) != current:
                continue
            seen = current
            with ProbeLine(f"grading {exercise.short_id}", target.name) as line:
                card = grader.grade(path, on_probe=line)
            if interrupted:
                raise KeyboardInterrupt
            done += 1
            text = ("\x1b[2J\x1b[H" if clear else "") + render(card)
            stamp = time.strftime("%H:%M:%S")
            footer = changes(last, card) if last else "watching for saves"
            out.write(f"{text}[{stamp}] round {done} of {target.name}: {footer} (Ctrl-C to stop)\n")
            out.flush()
            last = card
    except KeyboardInterrupt:
        out.write("\nstopped watching\n")
        out.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
        grader.close()
    return done
