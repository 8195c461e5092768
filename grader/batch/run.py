"""`grade batch`: plan, grade in parallel, write the results, resume and shard."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader import settings
from grader.batch.discover import BatchError, discover
from grader.batch.plan import PLAN_FILE, Plan, Task, parse_shard, plan, read_plan
from grader.batch.pool import grade_tasks
from grader.batch.results import is_done, write_card, write_reports
from grader.files import write_atomic
from grader.render.progress import make_progress
from grader.scorecard import Scorecard
from grader.worker.limits import Limits

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ the batch


def usable_cpus() -> int:
    """The CPUs this process may run on (a scheduler's binding included), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class BatchResult:
    """What `run_batch` did: counts, time and the reports it wrote."""
    out: Path
    total: int  # tasks in this run (this shard)
    graded: int  # graded in this run
    skipped: int  # already done (--resume)
    interrupted: bool = False
    wall_s: float = 0.0
    students: int = 0
    reports: dict = field(default_factory=dict)


def run_batch(submissions: Path, out: Path, *, exercises: list[str] | None = None,
              jobs: int | None = None, resume: bool = False, shard: str | None = None,
              limits: Limits = Limits(), progress: Callable[[int, int], object] | None = None,
              ) -> BatchResult:
    """Grade every submission × exercise in `submissions` into `out`. See the module doc.

    `progress(total, done)` makes the display; `--resume` refuses a plan that differs from
    the one `out` records.
    """
    start = time.monotonic()
    out = Path(out)
    existing = list((out / "scorecards").glob("*/*.json")) if (out / "scorecards").is_dir() else []
    if existing and not resume:
        raise BatchError(f"{out} already holds {len(existing)} scorecards; pass --resume to "
                         "finish that batch, or choose an empty --out folder")
    jobs = max(1, jobs or usable_cpus())
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        students = discover(Path(submissions), Path(tmp).resolve(), exclude=out.resolve())
        if not students:
            raise BatchError(f"no submissions in {submissions} (expected one folder, zip, "
                             ".py or .ipynb per student)")
        tasks = plan(students, exercises)
        planned = Plan.of(tasks, parse_shard(shard) if shard else (1, 1))
        recorded = read_plan(out) if resume else None
        if recorded and (diff := recorded.difference(planned)):
            raise BatchError(f"--resume: this run is not the one planned in {out / PLAN_FILE} "
                             f"({diff}); choose an empty --out folder for it")
        mine = set(planned.students)
        tasks = [t for t in tasks if t.student in mine]
        todo = [t for t in tasks if not (resume and is_done(out, t.student, t.exercise))]
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / PLAN_FILE, planned.to_json())
        result = BatchResult(out, len(tasks), 0, len(tasks) - len(todo), students=len(mine))
        bar = (progress or make_progress)(len(tasks), len(tasks) - len(todo))
        log.info("%d students, %d tasks in this run (%d already done), %d grading processes, salt %s",
                 len(mine), len(tasks), len(tasks) - len(todo), jobs, settings.raw("GRADER_SALT") or "0")

        def done(task: Task, card: Scorecard) -> None:
            write_card(out, task.student, card)
            result.graded += 1
            bar.advance(task, card)

        try:
            with bar:
                grade_tasks(todo, done, jobs=jobs, limits=limits, on_start=bar.start,
                            on_wait=bar.poll)
        except KeyboardInterrupt:
            result.interrupted = True
            log.info("interrupted after %d of %d tasks", result.graded, len(todo))
    result.reports = write_reports(out)
    result.wall_s = time.monotonic() - start
    return result


