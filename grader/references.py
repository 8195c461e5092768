"""Reference results: what each probe returns on the reference solution.

A hidden check compares the student's probe data with `reference.run(probe, **kwargs)`.
Where the solutions are (a teacher's checkout, `GRADER_SOLUTIONS`), that runs the probe on
the reference live, cached on disk. Everywhere else (a student's install, CI, a course
repository) it reads the exercise's **reference pack**, `grader/packs/<exercise id>.pt`:
the recorded result of every reference call the suite can make, plain tensors and numbers
loaded with `weights_only=True`, never solution code. `build_pack` records it by grading
the exercise's whole kit (reference, stub, mistakes, alternatives; see kit.py), so the
calls a check makes only to diagnose a mistake are recorded too.

`GRADER_REFERENCES=pack` uses the pack even where the solutions are (the project's tests
do, to prove it complete); `live` refuses the pack.
"""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path

import torch

import grader
from grader import settings
from grader.catalog import SUITES_DIR, Exercise
from grader.checks import GraderError
from grader.files import write_atomic
from grader.probing import cache_dir, call_key, probe_request, typed_result
from grader.worker import salting
from grader.worker.client import Zygote
from grader.worker.limits import Limits

PACK_FORMAT = 1


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def suite_fingerprint(exercise: Exercise) -> str:
    """Changes whenever the hidden suite (or the helpers every suite shares) does."""
    return _digest([*sorted(SUITES_DIR.glob("*.py")), *sorted(exercise.suite_dir.glob("*.py"))])


def solution_fingerprint(exercise: Exercise) -> str:
    """A digest of the reference solution's file (a pack records the one it was built from)."""
    return _digest([exercise.solution_path])


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


@cache
def load_pack(exercise: Exercise) -> dict | None:
    """The exercise's reference pack, or None when none is shipped."""
    path = exercise.pack_path
    if not path.is_file():
        return None
    try:
        pack = torch.load(path, weights_only=True)
    except Exception as exc:
        raise GraderError(f"the reference pack {path} cannot be read ({exc})") from exc
    if not isinstance(pack, dict) or pack.get("format") != PACK_FORMAT:
        raise GraderError(f"the reference pack {path} is not a pack of format {PACK_FORMAT}")
    return pack


def reference_stamp(exercise: Exercise) -> str:
    """Which reference solution grading compares against: its digest, live or as the pack
    recorded it (the same when the pack is fresh)."""
    if configured_source() != "pack" and exercise.solution_path.is_file():
        return solution_fingerprint(exercise)
    try:
        pack = load_pack(exercise)
    except GraderError:
        return "unreadable pack"
    return pack["solution"] if pack else "none"


def stale_reason(exercise: Exercise) -> str:
    """Why the shipped pack does not fit this suite and solution ('' when it does)."""
    try:
        pack = load_pack(exercise)
    except GraderError as exc:
        return str(exc)
    if pack is None:
        return "no reference pack"
    if pack["suite"] != suite_fingerprint(exercise):
        return "the hidden suite changed since the pack was built"
    if exercise.solution_path.is_file() and pack["solution"] != solution_fingerprint(exercise):
        return "the reference solution changed since the pack was built"
    return ""


def configured_source() -> str:
    """GRADER_REFERENCES: auto, live or pack."""
    return settings.choice("GRADER_REFERENCES", settings.REFERENCE_SOURCES, "auto")


class ReferenceRunner:
    """The `reference` fixture: probes on the reference solution, live or from the pack.

    `record`, when given, receives every result (how a pack is built); `notes` collects
    what the scorecard should say about the references used."""

    def __init__(self, zygote: Zygote, exercise: Exercise, limits: Limits,
                 record: dict | None = None, source: str | None = None):
        self.zygote, self.exercise, self.limits, self.record = zygote, exercise, limits, record
        self.source = source  # None: GRADER_REFERENCES
        self.notes: list[str] = []
        self._memo: dict[str, object] = {}
        self._live_digest: str | None = None

    def run(self, probe: str, **kwargs):
        """The reference's result of `probe(**kwargs)`: live or from the pack, memoised as plain
        data (what a pack records), returned as the type the probe declares."""
        key = call_key(probe, kwargs)
        if key not in self._memo:
            chosen = self.source or configured_source()
            if chosen == "auto":
                chosen = "live" if self.exercise.solution_path.is_file() else "pack"
            if chosen == "pack" and salting.current():
                raise GraderError("a salted run (GRADER_SALT) needs the reference solutions: "
                                  "packs hold results for the default inputs only")
            self._memo[key] = self._live(probe, kwargs, key) if chosen == "live" else self._packed(key)
            if self.record is not None:
                self.record[key] = self._memo[key]
        return typed_result(self.exercise, probe, self._memo[key], "the reference")

    def _packed(self, key: str):
        pack = load_pack(self.exercise)
        if pack is None:
            raise GraderError(f"no reference solution and no reference pack for {self.exercise.id}")
        if pack["suite"] != suite_fingerprint(self.exercise):
            raise GraderError(f"the reference pack of {self.exercise.id} was built for another "
                              "version of its hidden suite; rebuild it (grade references build)")
        if key not in pack["entries"]:
            raise GraderError(f"the reference pack of {self.exercise.id} has no result for "
                              f"{key}; rebuild it (grade references build)")
        if _minor(pack["torch"]) != _minor(torch.__version__) and not self.notes:
            self.notes.append(f"reference results were recorded with torch {pack['torch']}; this "
                              f"is torch {torch.__version__} (small numeric differences are tolerated)")
        return pack["entries"][key]

    def _live(self, probe: str, kwargs: dict, key: str):
        path = self.exercise.solution_path
        if not path.is_file():
            raise GraderError(f"the reference solution {path} is missing; set GRADER_SOLUTIONS")
        if self._live_digest is None:
            parts = (suite_fingerprint(self.exercise), solution_fingerprint(self.exercise),
                     torch.__version__, grader.__version__,
                     _digest([Path(salting.__file__)]))  # how a salt changes the seeds
            self._live_digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        digest = hashlib.sha256(f"{self._live_digest}{key}\0{salting.current()}".encode()).hexdigest()
        cached_at = cache_dir() / self.exercise.id / f"{digest}.pt"
        try:
            cached = torch.load(cached_at, weights_only=True)
        except Exception:  # absent or corrupt: recompute
            cached = None
        if isinstance(cached, dict) and "data" in cached:
            return cached["data"]
        outcome = self.zygote.run(probe_request(self.exercise, path, probe, kwargs), self.limits)
        if not outcome.ok:
            raise GraderError(f"reference solution failed on probe {probe}: {outcome.message}")
        try:
            write_atomic(cached_at, _saved({"data": outcome.data}))
        except OSError:
            pass  # a read-only cache only costs speed
        return outcome.data


def _saved(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def build_pack(exercise: Exercise, stub: Path, limits: Limits = Limits()) -> dict:
    """Grade the exercise's whole kit against live references and write what they returned
    as its pack; returns the pack. Raises GraderError when a kit case hits a grader fault."""
    from grader import kit
    from grader.session import GradingSession

    entries: dict = {}
    with GradingSession([exercise], limits=limits) as session:
        for case in kit.cases(exercise, stub):
            reference = ReferenceRunner(session.zygote, exercise, limits, record=entries, source="live")
            card = session.grade(exercise, case.path, reference=reference)
            if card.grader_error:
                raise GraderError(f"{exercise.id} {case.label}: {kit.judge(case, card)[0]}")
    pack = {"format": PACK_FORMAT, "exercise": exercise.id, "suite": suite_fingerprint(exercise),
            "solution": solution_fingerprint(exercise), "torch": str(torch.__version__),
            "grader": grader.__version__, "entries": dict(sorted(entries.items()))}
    write_atomic(exercise.pack_path, _saved(pack))
    load_pack.cache_clear()
    return pack
