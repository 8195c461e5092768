"""One warm grader for one grading or many: the CLI, a batch process, the warm server and a
notebook's watcher each hold a `GradingSession`, which owns the zygote's start-up, warm-up
and shutdown. This module is light to import: the zygote starts before this process imports
torch and pytest (with grader.grading), so the two processes import torch at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from grader.catalog import Exercise
from grader.worker.client import Zygote
from grader.worker.limits import Limits

if TYPE_CHECKING:
    from grader.references import ReferenceRunner
    from grader.scorecard import Scorecard


class GradingSession:
    """A warm grader: its zygote starts at once and imports torch, with the probes of
    `exercises`, while this process imports its own and warms the checks; `close` (or the
    `with` block's end) stops it and every worker.

        with GradingSession([exercise]) as session:
            card = session.grade(exercise, path, on_probe=print)
    """

    def __init__(self, exercises: Iterable[Exercise] = (), *, limits: Limits = Limits()):
        self.limits = limits
        self.zygote = Zygote().spawn(preload=tuple(str(ex.probes_path) for ex in exercises))
        from grader import checks  # torch, while the zygote imports its own

        checks.warm()

    @property
    def sandboxed(self) -> bool:
        return self.zygote.sandboxed

    def ready(self) -> GradingSession:
        """Wait until the zygote has imported torch (a batch process reports ready then)."""
        self.zygote.start()
        return self

    def grade(self, exercise: Exercise, path: Path, *, limits: Limits | None = None,
              reference: ReferenceRunner | None = None,
              on_probe: Callable[[str], None] | None = None) -> Scorecard:
        """`grading.grade` with this session's workers; `on_probe(name)` as each probe starts."""
        from grader.grading import grade

        self.zygote.on_run = (lambda request: on_probe(request["probe"])) if on_probe else None
        try:
            return grade(exercise, path, zygote=self.zygote, limits=limits or self.limits,
                         reference=reference)
        finally:
            self.zygote.on_run = None

    def close(self) -> None:
        self.zygote.close()

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
