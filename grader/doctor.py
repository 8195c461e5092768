"""`grade doctor`: which protections are active here, and whether grading can run."""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

import grader
from grader import catalog, server, settings
from grader.probing import cache_dir
from grader.worker import sandbox
from grader.worker.client import SAFE_ENV, Zygote
from grader.worker.limits import Limits


PING = """\
import os, sys


def ping(mod, paths):
    return {"python": sys.version.split()[0], "readable": [p for p in paths if os.path.exists(p)]}
"""


def report() -> list[tuple[str, bool, str]]:
    """(item, ok, detail) rows; `ok` False marks something missing or degraded, and the
    `worker` row is False when no worker could run a probe (see `failed`)."""
    limits = Limits()
    bwrap = shutil.which("bwrap")
    boxed = sandbox.available()
    rows = [
        ("grader", True, f"{grader.__version__} on Python {platform.python_version()}, torch {torch.__version__}"),
        ("exercises", bool(catalog.exercises()), f"{len(catalog.exercises())} hidden suites"),
        ("references", True, _references_line()),
        ("reference cache", True, str(cache_dir())),
        ("bubblewrap sandbox", boxed,
         "active: no network, own PID namespace, no capabilities, hidden suites and solutions masked"
         if boxed else ("bwrap found but cannot create namespaces here" if bwrap else
                        "bwrap not installed (apt-get install bubblewrap): workers run unsandboxed")),
        ("worker limits", True,
         f"{limits.probe_seconds:g} s per probe, {limits.submission_seconds:g} s per submission, "
         f"{limits.memory_bytes >> 30} GiB address space, {limits.file_bytes >> 20} MiB files, "
         f"+{limits.extra_processes} processes"
         + ("" if boxed else " (not enforced for root without the sandbox)")),
        ("orphan cleanup", True, "zygote is a child subreaper; every leftover process is killed"),
        ("environment", True, f"scrubbed for workers ({', '.join(SAFE_ENV)} only)"),
        ("settings", True, ", ".join(f"{name}={settings.raw(name)}" for name in settings.DESCRIPTIONS
                                     if settings.raw(name)) or "none set: the defaults (see README, Settings)"),
        ("warm server", True, _server_line()),
        ("CUDA", True, "available: device checks also run on cuda" if torch.cuda.is_available()
         else "not available: device checks run on the meta device only"),
    ]
    rows.append(worker_row())
    return rows


def worker_row() -> tuple[str, bool, str]:
    """Run a probe in a real (sandboxed where possible) worker; it must find the hidden
    suites and the solutions unreadable."""
    secret = [str(ex.suite_dir / "test_hidden.py") for ex in catalog.exercises()[:1]]
    secret += [str(ex.solution_path) for ex in catalog.exercises()[:1] if ex.solution_path.is_file()]
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        probes, module = Path(tmp, "probes.py"), Path(tmp, "empty.py")
        probes.write_text(PING)
        module.write_text("")
        request = {"module_path": str(module), "module_name": "empty", "probe_path": str(probes),
                   "probe": "ping", "kwargs": {"paths": secret}}
        try:
            with Zygote() as z:
                outcome = z.run(request, Limits())
        except RuntimeError as exc:
            return "worker", False, f"FAIL: {exc}"
    if not outcome.ok:
        return "worker", False, f"FAIL: a probe could not run in a worker: {outcome.message}"
    seen = outcome.data["readable"]
    if z.sandboxed and seen:
        return "worker", False, f"FAIL: a sandboxed worker could read {', '.join(seen)}"
    return "worker", True, (f"ran a probe in {time.monotonic() - start:.2f} s"
                            + (", hidden suites and solutions unreadable" if z.sandboxed else ""))


def _references_line() -> str:
    from grader import references

    exercises = catalog.exercises()
    live = sum(ex.solution_path.is_file() for ex in exercises)
    packs = sum(ex.pack_path.is_file() for ex in exercises)
    stale = [ex.short_id for ex in exercises if ex.pack_path.is_file() and references.stale_reason(ex)]
    return (f"{packs}/{len(exercises)} reference packs" + (f" (stale: {', '.join(stale)})" if stale else "")
            + (f"; live solutions for {live} under {catalog.solutions_root()}" if live else
               "; no solutions here (as it should be on a student's machine)"))


def _server_line() -> str:
    path = server.socket_path()
    if path is None:
        return "off: no private runtime folder for its socket"
    used = ("used by `grade` at this terminal" if server.enabled()
            else "off here (GRADER_SERVER=off, CI, or not a terminal)")
    return f"{used}; {'one is running' if path.exists() else 'none running now'} ({path.parent})"
