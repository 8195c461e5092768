"""Resource limits a worker puts on itself right after the fork."""

from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """Per-worker limits; the defaults suit the course's small models."""

    probe_seconds: float = 20.0  # wall clock per probe
    submission_seconds: float = 120.0  # wall clock for all probes of one submission
    memory_bytes: int = 4 << 30  # address space
    file_bytes: int = 256 << 20  # largest file the worker may write
    output_bytes: int = 64 << 10  # captured stdout+stderr kept for the scorecard
    output_kill_bytes: int = 64 << 20  # output beyond this kills the worker
    extra_processes: int = 64  # processes a worker may add to its user's count (fork bombs)

    def to_dict(self) -> dict:
        """Plain data for a worker request."""
        return asdict(self)


def apply(limits: dict) -> None:
    """Called in the worker: address space, file size, no core dumps, CPU-time backstop."""
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"], limits["memory_bytes"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if "nproc" in limits:  # not enforced for root holding CAP_SYS_RESOURCE (the sandbox drops it)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
    cpu = int(limits["probe_seconds"]) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def user_processes() -> int:
    """How many processes (threads count too) this user runs now: RLIMIT_NPROC's base."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count
