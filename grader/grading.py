"""Grade one submission for one exercise: the single code path behind every command."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
from pathlib import Path

import pytest

import grader
from grader import checks
from grader.catalog import SUITES_DIR, Exercise
from grader.plugin import GradingPlugin
from grader.probing import SubmissionRunner
from grader.references import ReferenceRunner
from grader.scorecard import Scorecard, Status
from grader.submission import prepare
from grader.worker import salting
from grader.worker.client import Zygote
from grader.worker.limits import Limits


log = logging.getLogger(__name__)

UNSANDBOXED = ("ran unsandboxed (bwrap not available): student code could read files and "
               "signal processes the grader can")


def run_suite(exercise: Exercise, plugin: GradingPlugin) -> int:
    """Run the exercise's hidden suite in this process, silently, with `plugin` attached;
    returns pytest's exit code."""
    args = [str(exercise.suite_dir), "-c", str(SUITES_DIR / "pytest.ini"),
            "--rootdir", str(exercise.course.suites_dir), "--import-mode=importlib", "--assert=plain",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:xdist", "-p", "no:timeout",
            "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:doctest",
            "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:stepwise", "-p", "no:logging",
            "-W", "ignore"]
    saved = os.environ.pop("PYTEST_ADDOPTS", None)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                salting.salted(salting.current()):
            return int(pytest.main(args, plugins=[plugin]))
    finally:
        if saved is not None:
            os.environ["PYTEST_ADDOPTS"] = saved


def grade(exercise: Exercise, path: Path, *, zygote: Zygote | None = None,
          limits: Limits = Limits(), reference: ReferenceRunner | None = None) -> Scorecard:
    """Grade the submission at `path` (file, folder or notebook) and return its scorecard,
    with `zygote`'s workers (a GradingSession of its own when None). A fault of the
    grader's (a suite that does not load, a check that breaks, a missing reference result)
    is flagged on the card (`grader_error`), never silently charged."""
    if zygote is None:
        from grader.session import GradingSession

        with GradingSession([exercise], limits=limits) as session:
            return session.grade(exercise, path, reference=reference)
    start = time.monotonic()
    checks.warm()
    with tempfile.TemporaryDirectory(prefix="grader-sub-") as tmp:
        sub = prepare(exercise, Path(path), Path(tmp))
        student = SubmissionRunner(zygote, exercise, sub.module_path, limits, sub.problem,
                                   detail=sub.detail, filename=sub.path.name, lines=sub.lines)
        reference = reference or ReferenceRunner(zygote, exercise, limits)
        plugin = GradingPlugin(student, reference)
        code = run_suite(exercise, plugin)
    faults = list(plugin.faults)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not faults:
        faults.append(f"pytest stopped with exit code {code} ({pytest.ExitCode(code).name})")
    if not plugin.results and not faults:
        faults.append(f"the hidden suite of {exercise.id} has no checks")
    for fault in faults + [f"{c.id}: {c.message}\n{c.output}" for c in plugin.results
                           if c.status == Status.GRADER_ERROR]:
        log.warning("grader fault grading %s with %s:\n%s", path, exercise.id, fault)
    notes = ([] if zygote.sandboxed else [UNSANDBOXED]) + reference.notes
    return Scorecard(exercise.id, exercise.title, str(sub.path), plugin.results, grader.__version__,
                     sandboxed=zygote.sandboxed, problem=student.blocking_problem, notes=notes,
                     duration_s=time.monotonic() - start, grader_fault="\n\n".join(faults))
