"""The scorecard model: one per (submission, exercise). Renderers only read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover
    class StrEnum(str, Enum):
        """Python 3.11's enum.StrEnum: members are strings and print as their values."""

        def __str__(self) -> str:
            return self.value

SCHEMA_VERSION = 1


class Status(StrEnum):
    """A check's outcome. Only `GRADER_ERROR` is the grader's fault, never the student's."""

    PASSED = "passed"
    FAILED = "failed"  # the submission behaves wrongly
    ERROR = "error"  # the submission raised, is missing a name, or could not be imported
    TIMEOUT = "timeout"
    NOT_RUN = "not-run"  # blocked: the submission's time budget was used up
    GRADER_ERROR = "grader-error"  # a broken suite, a probe of the suite that raised, a missing reference


class Category(StrEnum):
    """What a check looks at (the `@check` decorator's first argument)."""

    API = "api"
    VALUES = "values"
    GRADIENTS = "gradients"
    LOSS_DECREASE = "loss-decrease"
    DEVICE = "device"
    CHECKPOINT = "checkpoint"
    MODES = "modes"


@dataclass
class CheckResult:
    """One check's outcome on a submission."""
    id: str
    title: str
    category: str  # a Category's value
    max_points: float
    status: str  # a Status's value
    message: str = ""
    output: str = ""
    duration_s: float = 0.0

    @property
    def points(self) -> float:
        return self.max_points if self.status == Status.PASSED else 0.0


@dataclass
class Scorecard:
    """All checks of one exercise on one submission, with what the grader noted."""
    exercise: str
    title: str
    submission: str
    checks: list[CheckResult]
    grader_version: str
    sandboxed: bool = False
    problem: str = ""  # one line when the submission could not be graded at all
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    graded_at: str = ""  # ISO 8601 UTC time the grading finished, e.g. 2025-01-31T12:00:00Z
    grader_fault: str = ""  # teacher-facing: why grading itself failed, with tracebacks

    @property
    def grader_error(self) -> bool:
        """Grading itself went wrong somewhere: the score is not the student's to keep."""
        return bool(self.grader_fault) or any(c.status == Status.GRADER_ERROR for c in self.checks)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    @property
    def categories(self) -> dict[str, dict[str, float]]:
        totals: dict[str, dict[str, float]] = {}
        for c in self.checks:
            t = totals.setdefault(c.category, {"score": 0.0, "max_score": 0.0})
            t["score"] += c.points
            t["max_score"] += c.max_points
        return totals

    def to_dict(self) -> dict:
        """Plain data for the JSON scorecard (schema_version, totals, checks)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "grader_version": self.grader_version,
            "exercise": self.exercise,
            "title": self.title,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "percent": round(self.percent, 2),
            "problem": self.problem,
            "grader_error": self.grader_error,
            "grader_fault": self.grader_fault,
            "sandboxed": self.sandboxed,
            "notes": list(self.notes),
            "duration_s": round(self.duration_s, 3),
            "graded_at": self.graded_at,
            "categories": self.categories,
            "checks": [
                {**asdict(c), "points": c.points, "duration_s": round(c.duration_s, 3)}
                for c in self.checks
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Scorecard":
        """The scorecard a `to_dict` (a JSON scorecard) describes."""
        fields = ("id", "title", "category", "max_points", "status", "message", "output", "duration_s")
        checks = [CheckResult(**{k: c[k] for k in fields}) for c in data["checks"]]
        return cls(data["exercise"], data["title"], data["submission"], checks,
                   data["grader_version"], data.get("sandboxed", False), data.get("problem", ""),
                   list(data.get("notes", [])), data.get("duration_s", 0.0),
                   data.get("graded_at", ""), data.get("grader_fault", ""))

    def stamp(self) -> "Scorecard":
        """Set `graded_at` to now (UTC) unless already set; returns self."""
        if not self.graded_at:
            self.graded_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self
