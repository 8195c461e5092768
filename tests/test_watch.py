"""`grade exerciseNN --watch`: a round per save, what changed since the last, Ctrl-C leaves with 0."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from grader import catalog, live
from grader.scorecard import CheckResult, Scorecard
from tests.harness import reference_source, stub_path

EX = catalog.get("exercise01")


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _until(lines: queue.Queue, fragment: str, seconds: float = 180.0) -> list[str]:
    """The lines read up to and including the first that holds `fragment`."""
    seen, end = [], time.monotonic() + seconds
    while True:
        line = lines.get(timeout=max(0.1, end - time.monotonic()))
        assert line is not None, "".join(seen)
        seen.append(line)
        if fragment in line:
            return seen


def test_watch_grades_each_save_and_says_what_changed(tmp_path):
    path = tmp_path / EX.filename
    path.write_text(stub_path(EX.id).read_text())
    proc = subprocess.Popen([sys.executable, "-m", "grader", EX.short_id, str(path), "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "GRADER_SERVER": "off"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = _until(lines, "round 1 of")
        assert any(line.startswith("score: 0/12") for line in first), first
        assert "watching for saves" in first[-1]
        path.write_text(reference_source(EX.id))
        second = _until(lines, "round 2 of")
        assert any(line.startswith("score: 12/12 (100%)") for line in second), second
        change = second[-1]
        assert "since the last save: score 0 → 12/12; now passing: " in change
        assert all(c in change for c in ("gradient_values", "fit_line_values", "api"))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "stopped watching" in "".join(_until(lines, "stopped watching"))
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()


def _card(*statuses: str) -> Scorecard:
    checks = [CheckResult(f"c{i}", f"check {i}", "values", 1.0, s) for i, s in enumerate(statuses)]
    return Scorecard("exercise01_autograd", "Autograd basics", "x.py", checks, "0")


def test_changes_name_the_checks_that_flipped():
    before, after = _card("passed", "failed", "error"), _card("failed", "passed", "error")
    assert live.changes(before, after) == \
        "since the last save: score 1 → 1/3; now passing: c1; now failing: c0"
    assert live.changes(after, after) == "since the last save: score 1 → 1/3; no check changed"


def test_watch_grades_once_per_save(tmp_path, monkeypatch):
    """In-process, with the grading replaced: a round at the start and one per save, none while
    nothing changes."""
    path = tmp_path / EX.filename
    path.write_text("a = 1\n")
    graded = []

    def fake_grade(self, target, on_probe=None):
        graded.append(target.read_text())
        return _card("passed" if "2" in graded[-1] else "failed")

    monkeypatch.setattr(live.Grader, "grade", fake_grade)

    def save_later():
        time.sleep(0.6)
        path.write_text("a = 2\n")

    threading.Thread(target=save_later, daemon=True).start()

    class Out(list):
        def write(self, text):
            self.append(text)

        def flush(self):
            pass

        def isatty(self):
            return False

    out = Out()
    assert live.watch(EX, path, lambda card: "", out=out, poll_s=0.05, rounds=2) == 2
    assert graded == ["a = 1\n", "a = 2\n"]
    assert "now passing: c0" in out[-1]
