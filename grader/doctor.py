"""`grade doctor`: which protections are active here, and whether grading can run."""

from __future__ import annotations

import platform
import shutil
import time

import torch

import grader
from grader import catalog, server
from grader.probing import cache_dir
from grader.worker import sandbox
from grader.worker.client import Zygote
from grader.worker.limits import Limits


def report() -> list[tuple[str, bool, str]]:
    """(item, ok, detail) rows; `ok` False marks something missing or degraded."""
    limits = Limits()
    bwrap = shutil.which("bwrap")
    boxed = sandbox.available()
    rows = [
        ("grader", True, f"{grader.__version__} on Python {platform.python_version()}, torch {torch.__version__}"),
        ("exercises", bool(catalog.exercises()), f"{len(catalog.exercises())} hidden suites"),
        ("reference solutions", all(ex.solution_path.is_file() for ex in catalog.exercises()),
         str(catalog.exercises()[0].solution_path.parent.parent) if catalog.exercises() else "-"),
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
        ("environment", True, "scrubbed for workers (PATH, LANG, TZ only)"),
        ("warm server", True, _server_line()),
        ("CUDA", True, "available: device checks also run on cuda" if torch.cuda.is_available()
         else "not available: device checks run on the meta device only"),
    ]
    start = time.monotonic()
    try:
        with Zygote() as z:
            z.start()
        rows.append(("warm worker", True, f"zygote started in {time.monotonic() - start:.2f} s"))
    except RuntimeError as exc:
        rows.append(("warm worker", False, str(exc)))
    return rows


def _server_line() -> str:
    path = server.socket_path()
    if path is None:
        return "off: no private runtime folder for its socket"
    used = ("used by `grade` at this terminal" if server.enabled()
            else "off here (GRADER_SERVER=off, CI, or not a terminal)")
    return f"{used}; {'one is running' if path.exists() else 'none running now'} ({path.parent})"
