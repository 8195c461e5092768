"""The pytest plugin that runs a hidden suite: provides the fixtures, collects check results."""

from __future__ import annotations

import pytest

from grader.checks import GraderError, Mistake, ProbeError
from grader.scorecard import CheckResult


def _title(item) -> str:
    doc = (item.function.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else item.name


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def classify(exc: BaseException | None) -> tuple[str, str, str]:
    """(status, one-line message, longer output) for a check's exception."""
    if exc is None:
        return "passed", "", ""
    if isinstance(exc, ProbeError):
        status = {"timeout": "timeout", "not-run": "not-run"}.get(exc.status, "error")
        return status, exc.message, exc.output
    if isinstance(exc, Mistake):
        detail = ""
        if exc.expected is not None or exc.actual is not None:
            detail = f"expected: {exc.expected}\nactual:   {exc.actual}"
        return "failed", exc.message, detail
    if isinstance(exc, AssertionError):
        return "failed", _first_line(exc) or "a check failed", ""
    if isinstance(exc, GraderError):
        return "error", f"grader problem (not your fault): {exc}", ""
    return "error", f"grader problem (not your fault): {type(exc).__name__}: {_first_line(exc)}", ""


class GradingPlugin:
    def __init__(self, student, reference):
        self._student, self._reference = student, reference
        self.results: list[CheckResult] = []

    @pytest.fixture
    def student(self):
        return self._student

    @pytest.fixture
    def reference(self):
        return self._reference

    def pytest_collection_modifyitems(self, items):
        for item in items:
            if not hasattr(getattr(item, "function", None), "grader_check"):
                raise GraderError(f"hidden test {item.nodeid} lacks @check(...)")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when == "call" or (call.when == "setup" and report.failed):
            exc = call.excinfo.value if call.excinfo else None
            status, message, output = classify(exc)
            meta = item.function.grader_check
            check_id = item.name.removeprefix("test_")
            self.results.append(CheckResult(check_id, _title(item), meta["category"],
                                            meta["points"], status, message, output, call.duration))
