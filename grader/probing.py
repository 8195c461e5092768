"""What hidden checks call: `student.run(probe, **kwargs)` runs the suite's probe on the
submission in a fresh worker and returns its data as the type the probe declares (see
typed.py), memoised per grading (`reference.run` is in references.py)."""

from __future__ import annotations

import json
from pathlib import Path

from grader import api as api_contract
from grader import settings
from grader import typed
from grader.catalog import Exercise, probes_module
from grader.checks import GraderError, Mistake, ProbeError
from grader.worker import salting
from grader.worker.client import Outcome, Zygote
from grader.worker.limits import Limits


def probe_request(exercise: Exercise, module_path: Path, probe: str, kwargs: dict) -> dict:
    """The request that runs `probe(**kwargs)` on the module at `module_path`."""
    return {"module_path": str(module_path), "module_name": exercise.module,
            "probe_path": str(exercise.probes_path), "probe": probe, "kwargs": kwargs,
            "salt": salting.current()}


def typed_result(exercise: Exercise, probe: str, data, whose: str):
    """`whose` result of `probe` (plain data, memoised so) as the type the probe declares; data
    of another shape is a grader fault: the probe broke, or code in the worker changed it."""
    function = getattr(probes_module(exercise), probe, None) if not probe.startswith("__") else None
    if function is None:
        return data
    try:
        return typed.rebuild(typed.declared(function), data, probe)
    except typed.ShapeError as exc:
        raise GraderError(f"probe {probe} on {whose} returned data of another shape than it "
                          f"declares: {exc}") from None


def call_key(probe: str, kwargs: dict) -> str:
    """How a probe call is named in memos, caches and reference packs."""
    return probe + json.dumps(kwargs, sort_keys=True)


class SubmissionRunner:
    """The `student` fixture: runs probes on the submission under its time budget."""

    def __init__(self, zygote: Zygote, exercise: Exercise, module_path: Path | None,
                 limits: Limits, problem: str = "", *, detail: str = "", filename: str = "",
                 lines: list | None = None):
        self.zygote, self.exercise, self.module_path, self.limits = zygote, exercise, module_path, limits
        self.problem, self.detail = problem, detail
        self.filename = filename or (module_path.name if module_path else exercise.filename)
        # a notebook's cell and line for each line of its module (left out past a size that
        # would not fit in a request to the zygote; messages then give module lines)
        self.lines = lines if lines and len(lines) <= 10_000 else None
        self.spent = 0.0
        self._memo: dict[str, Outcome] = {}
        # the submission as grading found it: every probe imports these bytes, so code that
        # rewrites its own file (possible where no sandbox hides it) changes nothing
        self._module_bytes = module_path.read_bytes() if module_path and module_path.is_file() else None
        self._import: Outcome | None = None
        self.hung: dict[str, str] = {}  # function that did not return -> its message
        self._timeouts_shown: set[int] = set()

    def _outcome(self, probe: str, kwargs: dict) -> Outcome:
        key = call_key(probe, kwargs)
        if key not in self._memo:
            left = self.limits.submission_seconds - self.spent
            if left <= 0:
                return Outcome("not-run", f"not run: the submission used up its "
                               f"{self.limits.submission_seconds:g} s time budget")
            req = {**probe_request(self.exercise, self.module_path, probe, kwargs),
                   "filename": self.filename, "lines": self.lines, "hung": dict(self.hung),
                   "module_bytes": self._module_bytes}
            outcome = self.zygote.run(req, self.limits, timeout=min(left, self.limits.probe_seconds))
            self.spent += outcome.duration_s
            self._memo[key] = outcome
            if outcome.status == "timeout" and outcome.extra.get("hung"):
                # later probes skip it at once rather than each wait out the limit again
                self.hung[outcome.extra["hung"]] = outcome.message
        return self._memo[key]

    def _import_outcome(self) -> Outcome:
        """Import once (and describe the API) before any probe; a failure blocks all probes."""
        if self._import is None:
            if self.problem:
                self._import = Outcome("error", self.problem, detail=self.detail)
            else:
                names = [e.name for e in self.exercise.api]
                self._import = self._outcome("__api__", {"names": names})
        return self._import

    @property
    def blocking_problem(self) -> str:
        """Why no probe could run (empty file, import failure...), or ''."""
        return self._import.message if self._import and not self._import.ok else ""

    def run(self, probe: str, **kwargs):
        """The probe's data, or `ProbeError` naming what the submission did wrong."""
        first = self._import_outcome()
        outcome = first if not first.ok else self._outcome(probe, kwargs)
        if outcome.status == "timeout":  # one check waited for it; the others are skipped
            if id(outcome) in self._timeouts_shown:
                outcome = Outcome("not-run", outcome.message, output=outcome.output)
            else:
                self._timeouts_shown.add(id(outcome))  # memoised outcomes live as long as self
        if not outcome.ok:
            output = "\n".join(part for part in (outcome.output, outcome.detail) if part)
            raise ProbeError(outcome.status, outcome.message, output)
        return typed_result(self.exercise, probe, outcome.data, "the submission")

    def expect_api(self, *names: str) -> None:
        """Every API entry (or those named) exists with the README's signature."""
        described = self.run("__api__", names=[e.name for e in self.exercise.api])
        problems = [
            msg for e in self.exercise.api if not names or e.name in names
            if (msg := api_contract.mismatch(e, described.get(e.name, {"kind": "missing"}),
                                             self.filename))
        ]
        if problems:
            raise Mistake("; ".join(problems))


def cache_dir() -> Path:
    """Where live reference results are cached (GRADER_CACHE_DIR)."""
    return settings.path("GRADER_CACHE_DIR", Path.home() / ".cache" / "pytorch-grader")
