"""The plan of a run: its tasks (student × exercise), shards, and plan.json, the record
`--resume` and `grade merge` check against."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import grader
from grader import catalog
from grader.worker import salting
from grader.batch.discover import BatchError, Student
from grader.detection import detect

# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Task:
    """One student × exercise to grade."""
    student: str
    exercise: str  # exercise id
    path: str  # what to grade: a file or folder
    root: str  # the student's root, replaced by `label` in what the scorecard shows
    label: str
    problem: str = ""


def parse_shard(text: str) -> tuple[int, int]:
    """`i/N` as (i, N), 1 <= i <= N; BatchError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise BatchError(f"--shard wants i/N with 1 ≤ i ≤ N (e.g. 2/4), not {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(students: list[str], index: int, count: int) -> set[str]:
    """Students are dealt round-robin in sorted order: shard i gets positions i-1, i-1+N..."""
    return {s for position, s in enumerate(sorted(students)) if position % count == index - 1}


def plan(students: list[Student], exercise_ids: list[str] | None = None) -> list[Task]:
    """Every student × the exercises they attempt (or `exercise_ids` for everyone).

    A student in whom nothing is recognised is graded on every exercise the class
    attempted, so their scorecards say what is wrong instead of leaving a gap.
    """
    every = catalog.exercises()
    chosen = [catalog.get(e) for e in exercise_ids] if exercise_ids else None
    detected = {s.id: ({} if s.problem else detect(s.root, chosen or every)) for s in students}
    if chosen:
        wanted = [ex.id for ex in chosen]
    else:
        wanted = (sorted({e for found in detected.values() for e in found})
                  or [ex.id for ex in every])
    tasks = []
    for s in students:
        found = detected[s.id]
        ids = wanted if chosen or not found else sorted(found)
        for eid in ids:
            path = found.get(eid, s.root)
            tasks.append(Task(s.id, eid, str(path), str(s.root), s.label, s.problem))
    return tasks


PLAN_FILE = "plan.json"


def reference_fingerprint() -> str:
    """Names the hidden suites and reference results the checks compare against: shards
    graded against different ones must not be merged."""
    from grader import references

    h = hashlib.sha256()
    for ex in catalog.exercises():
        h.update(f"{ex.id}\0{references.suite_fingerprint(ex)}\0{references.reference_stamp(ex)}\n".encode())
    return h.hexdigest()[:16]


@dataclass
class Plan:
    """What a batch output is meant to hold: the whole run's planned tasks (student →
    exercise ids), which shard of it this folder grades, and what grades it.

    plan.json also lists the whole run's exercises and this shard's students, for people;
    they are derived from `tasks` and never read back.
    """

    tasks: dict[str, list[str]]
    shard: tuple[int, int] = (1, 1)
    grader_version: str = grader.__version__
    reference: str = field(default_factory=reference_fingerprint)
    gaps: list[str] = field(default_factory=list)  # what a merge with --allow-partial accepted
    salt: int = field(default_factory=salting.current)  # probe inputs' salt (0: the packs' own)

    @classmethod
    def of(cls, tasks: list[Task], shard: tuple[int, int]) -> "Plan":
        planned: dict[str, list[str]] = {}
        for t in tasks:
            planned.setdefault(t.student, []).append(t.exercise)
        return cls({s: sorted(planned[s]) for s in sorted(planned)}, shard)

    @property
    def students(self) -> list[str]:
        """This shard's students."""
        return sorted(shard_of(list(self.tasks), *self.shard))

    def shard_tasks(self) -> list[tuple[str, str]]:
        """This shard's planned (student, exercise) tasks."""
        return [(s, e) for s in self.students for e in self.tasks[s]]

    def difference(self, other: "Plan") -> str:
        """The first way `other` is a different plan from this one, in words, or ''."""
        if self.shard != other.shard:
            return f"shard {other.shard[0]}/{other.shard[1]}, not {self.shard[0]}/{self.shard[1]}"
        if self.tasks != other.tasks:
            return "other students or exercises"
        if self.grader_version != other.grader_version:
            return f"grader {other.grader_version}, not {self.grader_version}"
        if self.reference != other.reference:
            return (f"reference results {other.reference or '(none)'}, "
                    f"not {self.reference or '(none)'}")
        if self.salt != other.salt:
            return f"salt {other.salt}, not {self.salt}"
        return ""

    def to_json(self) -> str:
        data = {"schema_version": 1, "shard": f"{self.shard[0]}/{self.shard[1]}",
                "grader_version": self.grader_version, "reference_fingerprint": self.reference,
                "salt": self.salt,
                "exercises": sorted({e for ids in self.tasks.values() for e in ids}),
                "students": self.students, "tasks": self.tasks}
        if self.gaps:
            data["gaps"] = self.gaps
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def read_plan(out: Path) -> Plan | None:
    """The plan of the batch output `out`, or None where it has none (an older output)."""
    try:
        data = json.loads((Path(out) / PLAN_FILE).read_text(encoding="utf-8"))
        return Plan({s: list(ids) for s, ids in data["tasks"].items()},
                    parse_shard(data["shard"]), data["grader_version"],
                    data["reference_fingerprint"], list(data.get("gaps", [])), int(data.get("salt", 0)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, BatchError):
        return None


