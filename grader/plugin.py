"""The pytest plugin that runs a hidden suite: provides the fixtures, collects check results."""

from __future__ import annotations

import traceback

import pytest

from grader.checks import Mistake, ProbeError
from grader.scorecard import CheckResult, Status

GRADER_PROBLEM = "grader problem (not your fault; your teacher sees the details)"


def _title(item) -> str:
    doc = (item.function.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else item.name


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def classify(exc: BaseException | None) -> tuple[str, str, str]:
    """(status, one-line message, longer output) for a check's exception."""
    if exc is None:
        return Status.PASSED, "", ""
    if isinstance(exc, ProbeError):
        status = {"timeout": Status.TIMEOUT, "not-run": Status.NOT_RUN}.get(exc.status, Status.ERROR)
        return status, exc.message, exc.output
    if isinstance(exc, Mistake):
        detail = ""
        if exc.expected is not None or exc.actual is not None:
            detail = f"expected: {exc.expected}\nactual:   {exc.actual}"
        return Status.FAILED, exc.message, detail
    if isinstance(exc, AssertionError):
        return Status.FAILED, _first_line(exc) or "a check failed", ""
    # GraderError or any other exception: the suite or the grader broke, not the submission
    trace = "".join(traceback.format_exception(exc))
    return Status.GRADER_ERROR, f"{GRADER_PROBLEM}: {type(exc).__name__}: {_first_line(exc)}", trace


class GradingPlugin:
    """Provides the `student` and `reference` fixtures; turns each check's report into a
    `CheckResult`, and a suite that fails to load into `faults` (the teacher's to read)."""

    def __init__(self, student, reference):
        self._student, self._reference = student, reference
        self.results: list[CheckResult] = []
        self.faults: list[str] = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.faults.append(f"the hidden suite failed to load ({report.nodeid or 'collection'}):\n"
                               f"{report.longreprtext}")

    @pytest.fixture
    def student(self):
        return self._student

    @pytest.fixture
    def reference(self):
        return self._reference

    def pytest_collection_modifyitems(self, items):
        for item in items:
            if not hasattr(getattr(item, "function", None), "grader_check"):
                self.faults.append(f"hidden test {item.nodeid} lacks @check(...)")
        items[:] = [item for item in items if hasattr(getattr(item, "function", None), "grader_check")]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "call" or (call.when == "setup" and report.failed):
            exc = call.excinfo.value if call.excinfo else None
            status, message, output = classify(exc)
            if call.when == "setup" and status != Status.GRADER_ERROR:  # a fixture broke
                status, message, output = classify(RuntimeError(f"setup failed: {message}"))
            meta = item.function.grader_check
            check_id = item.name.removeprefix("test_")
            self.results.append(CheckResult(check_id, _title(item), meta["category"],
                                            meta["points"], status, message, output, call.duration))
