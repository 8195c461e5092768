"""What hidden checks call: `student.run(probe, **kwargs)` and `reference.run(...)`.

Both run the suite's probe in a fresh worker and return plain data. Results are
memoised per grading session; reference results are also cached on disk, keyed by the
solution, the probes, torch's version and the call.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path

import torch

import grader
from grader import api as api_contract
from grader.catalog import SUITES_DIR, Exercise
from grader.checks import GraderError, Mistake, ProbeError
from grader.worker.client import Outcome, Zygote
from grader.worker.limits import Limits


def _request(exercise: Exercise, module_path: Path, probe: str, kwargs: dict) -> dict:
    return {"module_path": str(module_path), "module_name": exercise.module,
            "probe_path": str(exercise.probes_path), "probe": probe, "kwargs": kwargs}


def _key(probe: str, kwargs: dict) -> str:
    return probe + json.dumps(kwargs, sort_keys=True)


class SubmissionRunner:
    """The `student` fixture: runs probes on the submission under its time budget."""

    def __init__(self, zygote: Zygote, exercise: Exercise, module_path: Path | None,
                 limits: Limits, problem: str = ""):
        self.zygote, self.exercise, self.module_path, self.limits = zygote, exercise, module_path, limits
        self.problem = problem
        self.spent = 0.0
        self._memo: dict[str, Outcome] = {}
        self._import: Outcome | None = None

    def _outcome(self, probe: str, kwargs: dict) -> Outcome:
        key = _key(probe, kwargs)
        if key not in self._memo:
            left = self.limits.submission_seconds - self.spent
            if left <= 0:
                return Outcome("not-run", f"not run: the submission used up its "
                               f"{self.limits.submission_seconds:g} s time budget")
            req = _request(self.exercise, self.module_path, probe, kwargs)
            outcome = self.zygote.run(req, self.limits, timeout=min(left, self.limits.probe_seconds))
            self.spent += outcome.duration_s
            self._memo[key] = outcome
        return self._memo[key]

    def _import_outcome(self) -> Outcome:
        """Import once (and describe the API) before any probe; a failure blocks all probes."""
        if self._import is None:
            if self.problem:
                self._import = Outcome("error", self.problem)
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
        if not outcome.ok:
            output = "\n".join(part for part in (outcome.output, outcome.detail) if part)
            raise ProbeError(outcome.status, outcome.message, output)
        return outcome.data

    def expect_api(self, *names: str) -> None:
        """Every API entry (or those named) exists with the README's signature."""
        described = self.run("__api__", names=[e.name for e in self.exercise.api])
        problems = [
            msg for e in self.exercise.api if not names or e.name in names
            if (msg := api_contract.mismatch(e, described.get(e.name, {"kind": "missing"}),
                                             self.exercise.filename))
        ]
        if problems:
            raise Mistake("; ".join(problems))


def cache_dir() -> Path:
    return Path(os.environ.get("GRADER_CACHE_DIR", Path.home() / ".cache" / "pytorch-grader"))


class ReferenceRunner:
    """The `reference` fixture: the same probes on the reference solution, cached on disk."""

    def __init__(self, zygote: Zygote, exercise: Exercise, limits: Limits):
        self.zygote, self.exercise, self.limits = zygote, exercise, limits
        self._memo: dict[str, object] = {}
        self._fingerprint: str | None = None

    def _fingerprint_of_code(self) -> str:
        if self._fingerprint is None:
            path = self.exercise.solution_path
            if not path.is_file():
                raise GraderError(f"the reference solution {path} is missing; set GRADER_SOLUTIONS")
            code = [path, SUITES_DIR / "common.py", *sorted(self.exercise.suite_dir.glob("*.py"))]
            h = hashlib.sha256()
            for part in (*(p.read_bytes() for p in code), torch.__version__.encode(),
                         grader.__version__.encode()):
                h.update(hashlib.sha256(part).digest())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def run(self, probe: str, **kwargs):
        key = _key(probe, kwargs)
        if key in self._memo:
            return self._memo[key]
        digest = hashlib.sha256((self._fingerprint_of_code() + key).encode()).hexdigest()
        path = cache_dir() / self.exercise.id / f"{digest}.pt"
        cached = None
        if path.is_file():
            try:
                cached = torch.load(path, weights_only=True)
            except Exception:  # a corrupt cache entry is recomputed
                cached = None
        if isinstance(cached, dict) and "data" in cached:
            data = cached["data"]
        else:
            req = _request(self.exercise, self.exercise.solution_path, probe, kwargs)
            outcome = self.zygote.run(req, self.limits)
            if not outcome.ok:
                raise GraderError(f"reference solution failed on probe {probe}: {outcome.message}")
            data = outcome.data
            _write_atomic(path, {"data": data})
        self._memo[key] = data
        return data


def _write_atomic(path: Path, obj) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save(obj, buf)
        tmp = path.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs speed
