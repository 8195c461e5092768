"""Grade one submission for one exercise: the single code path behind every command."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import pytest

import grader
from grader import checks
from grader.catalog import SUITES_DIR, Exercise
from grader.plugin import GradingPlugin
from grader.probing import ReferenceRunner, SubmissionRunner
from grader.scorecard import Scorecard
from grader.submission import prepare
from grader.worker.client import Zygote
from grader.worker.limits import Limits


UNSANDBOXED = ("ran unsandboxed (bwrap not available): student code could read files and "
               "signal processes the grader can")


def run_suite(exercise: Exercise, plugin: GradingPlugin) -> None:
    """Run the exercise's hidden suite in this process, silently, with `plugin` attached."""
    args = [str(exercise.suite_dir), "-c", str(SUITES_DIR / "pytest.ini"),
            "--rootdir", str(SUITES_DIR), "--import-mode=importlib", "--assert=plain",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:xdist", "-p", "no:timeout",
            "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:doctest",
            "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:stepwise", "-p", "no:logging",
            "-W", "ignore"]
    saved = os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            pytest.main(args, plugins=[plugin])
    finally:
        if saved is not None:
            os.environ["PYTEST_ADDOPTS"] = saved


def grade(exercise: Exercise, path: Path, *, zygote: Zygote | None = None,
          limits: Limits = Limits()) -> Scorecard:
    """Grade the submission at `path` (file, folder or notebook) and return its scorecard."""
    start = time.monotonic()
    own_zygote = zygote is None
    zygote = zygote or Zygote().spawn(preload=(str(exercise.probes_path),))
    checks.warm()
    try:
        with tempfile.TemporaryDirectory(prefix="grader-sub-") as tmp:
            sub = prepare(exercise, Path(path), Path(tmp))
            student = SubmissionRunner(zygote, exercise, sub.module_path, limits, sub.problem)
            plugin = GradingPlugin(student, ReferenceRunner(zygote, exercise, limits))
            run_suite(exercise, plugin)
    finally:
        if own_zygote:
            zygote.close()
    notes = [] if zygote.sandboxed else [UNSANDBOXED]
    return Scorecard(exercise.id, exercise.title, str(sub.path), plugin.results, grader.__version__,
                     sandboxed=zygote.sandboxed, problem=student.blocking_problem, notes=notes,
                     duration_s=time.monotonic() - start)
