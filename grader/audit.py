"""`grade audit`: is a hidden suite any good? Its kit (see kit.py) says.

For each exercise: the stub must score 0, the reference and every alternative full marks,
every mistake must lose points (exactly the checks its `# expect:` line names, with the
messages its `# message:` lines require), no check may go unguarded (failed by no
mistake), the suite must run on the reference within the time budget, and the reference
pack must fit the suite. The kit is graded in parallel through the batch machinery.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from grader import batch, kit, references
from grader.catalog import Exercise
from grader.render.markdown import cell
from grader.scorecard import Scorecard
from grader.worker.limits import Limits


@dataclass
class Verdict:
    """One kit case, its scorecard and what is wrong with the verdict."""
    case: kit.Case
    card: Scorecard
    problems: list[str]


@dataclass
class ExerciseAudit:
    """One exercise's audit: every case's verdict and what the suite lacks."""
    exercise: Exercise
    verdicts: list[Verdict] = field(default_factory=list)
    unguarded: list[str] = field(default_factory=list)  # checks no mistake fails
    suite_seconds: float = 0.0  # the suite on the reference
    budget: float = 10.0
    pack: str = ""  # why the reference pack does not fit ('' when it does)

    @property
    def misses(self) -> list[str]:
        """Every finding, one line each; empty when the suite passes its audit."""
        found = [f"{v.case.label}: {p}" for v in self.verdicts for p in v.problems]
        found += [f"check {c} is unguarded: no mistake in mistakes/ fails it" for c in self.unguarded]
        if self.suite_seconds > self.budget:
            found.append(f"the suite took {self.suite_seconds:.1f} s on the reference "
                          f"(budget {self.budget:g} s)")
        if self.pack and self.exercise.pack_path.exists():  # a course in the making may have none
            found.append(f"reference pack: {self.pack} (grade references build {self.exercise.short_id})")
        return found

    def to_dict(self) -> dict:
        return {"exercise": self.exercise.id, "ok": not self.misses, "misses": self.misses,
                "unguarded": self.unguarded, "suite_seconds": round(self.suite_seconds, 2),
                "budget_seconds": self.budget, "pack": self.pack or "fresh",
                "cases": [{"kind": v.case.kind, "name": v.case.name, "score": v.card.score,
                           "max_score": v.card.max_score, "ok": not v.problems,
                           "problems": v.problems} for v in self.verdicts]}


def audit(exercises: list[Exercise], *, budget: float = 10.0, jobs: int | None = None,
          limits: Limits = Limits()) -> list[ExerciseAudit]:
    """Grade every exercise's kit and judge it."""
    audits = {ex.id: ExerciseAudit(ex, budget=budget) for ex in exercises}
    cases, tasks = {}, []
    for ex in exercises:
        for i, case in enumerate(kit.cases(ex, ex.stub_path)):
            key = f"{ex.id}/{i:04d}"
            cases[key] = (ex, case)
            tasks.append(batch.Task(key, ex.id, str(case.path), str(case.path.parent), case.path.name))

    def done(task: batch.Task, card: Scorecard) -> None:
        ex, case = cases[task.student]
        audits[ex.id].verdicts.append(Verdict(case, card, kit.judge(case, card)))

    batch.grade_tasks(tasks, done, jobs=jobs or len(os.sched_getaffinity(0)), limits=limits)
    for result in audits.values():
        result.verdicts.sort(key=lambda v: (kit.KINDS.index(v.case.kind), v.case.name))
        reference = next(v.card for v in result.verdicts if v.case.kind == "reference")
        result.suite_seconds = reference.duration_s
        caught = {c.id for v in result.verdicts if v.case.kind == "mistake"
                  for c in v.card.checks if c.status != "passed"}
        result.unguarded = sorted({c.id for c in reference.checks} - caught)
        result.pack = references.stale_reason(result.exercise)
    return list(audits.values())


def render_json(audits: list[ExerciseAudit]) -> str:
    """The audits as JSON (`grade audit --format json`)."""
    return json.dumps([a.to_dict() for a in audits], indent=2) + "\n"


def render_markdown(audits: list[ExerciseAudit]) -> str:
    """The audits as Markdown tables, one per exercise."""
    lines = []
    for a in audits:
        mark = "✅" if not a.misses else "❌"
        lines += [f"## {mark} {cell(a.exercise.id)}: {len(a.verdicts)} cases, suite "
                  f"{a.suite_seconds:.1f} s of {a.budget:g} s", "",
                  "| case | score | verdict |", "|---|--:|---|"]
        for v in a.verdicts:
            lines.append(f"| {cell(v.case.label)} | {v.card.score:g}/{v.card.max_score:g} | "
                         f"{cell('; '.join(v.problems)) or 'as expected'} |")
        lines += ["", *(f"- {cell(m)}" for m in a.misses if not m.startswith(("mistake", "alternative",
                                                                          "reference", "stub")))]
        lines.append("")
    return "\n".join(lines)


def render_terminal(audits: list[ExerciseAudit]) -> str:
    """The audits as a few lines each for a terminal."""
    lines = []
    for a in audits:
        kinds = {k: sum(v.case.kind == k for v in a.verdicts) for k in kit.KINDS}
        status = "PASS" if not a.misses else "MISS"
        lines.append(f"{status}  {a.exercise.id}: {kinds['mistake']} mistakes, {kinds['alternative']} "
                     f"alternatives, suite {a.suite_seconds:.1f} s (budget {a.budget:g} s), "
                     f"pack {a.pack or 'fresh'}")
        lines += [f"      - {m}" for m in a.misses]
    return "\n".join(lines) + "\n"


RENDERERS = {"terminal": render_terminal, "json": render_json, "markdown": render_markdown}
