"""The bubblewrap sandbox the zygote (and so every worker) runs in, when `bwrap` works here.

Inside: a read-only view of the system libraries and an explicit allow-list of Python's
folders (`allowed_paths`), with the hidden suites, reference packs and solutions masked
wherever they lie inside it (`masked_dirs`), so it is the same from a checkout or a wheel; no solutions, no other submissions, no
network, a PID namespace of its own (workers cannot see or signal the grader), no
capabilities, a private /tmp, and one read-write spool folder for the workers' files.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader import settings
from grader.catalog import PACKAGE_DIR, courses

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")


def disabled() -> bool:
    """GRADER_SANDBOX=off: never sandbox (on and auto: wherever bubblewrap works)."""
    return settings.switch("GRADER_SANDBOX") is False


@functools.cache
def available() -> bool:
    """bwrap is installed and can create the namespaces we need on this machine."""
    exe = shutil.which("bwrap")
    if not exe or disabled():
        return False
    probe = [exe, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent",
             "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def allowed_paths() -> list[str]:
    """What a worker may read besides the system: the interpreter's lib/ and bin/ folders
    (and a venv's pyvenv.cfg), the site-packages folders, and the folders torch, numpy and
    the grader import from.
    Never `sys.path` as a whole (the current folder, a checkout beside the package)."""
    import importlib.util
    import site

    dirs = set()
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix}:
        dirs.update(os.path.join(prefix, sub) for sub in ("bin", "lib", "lib64", "pyvenv.cfg"))
    dirs.add(str(Path(sys.executable).resolve().parent))
    dirs.update(site.getsitepackages())
    dirs.add(site.getusersitepackages())
    for name in ("torch", "numpy"):
        spec = importlib.util.find_spec(name)
        if spec and spec.origin:
            dirs.add(str(Path(spec.origin).resolve().parent.parent))
    dirs.add(str(PACKAGE_DIR))
    return sorted(d for d in {os.path.realpath(d) for d in dirs} if os.path.exists(d))


def masked_dirs() -> list[str]:
    """What workers must never read even where it lies inside an allowed folder: every
    course's hidden suites, reference packs and reference solutions."""
    masked = [p for c in courses() for p in (*c.suites_dir.glob("exercise*"), c.packs_dir, c.solutions_dir)]
    return sorted(str(p.resolve()) for p in masked if p.is_dir())


def command(argv: list[str], spool: str) -> list[str]:
    """The bwrap command line that runs `argv` sandboxed, with `spool` writable."""
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
           "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in SYSTEM_DIRS:
        cmd += ["--ro-bind-try", d, d]
    for f in ETC_FILES:
        cmd += ["--ro-bind-try", f, f]
    allowed = allowed_paths()
    for d in allowed:
        cmd += ["--ro-bind", d, d]
    for d in masked_dirs():  # probes arrive as source, so the suites need not be readable
        if any(Path(d).is_relative_to(a) for a in allowed):
            cmd += ["--tmpfs", d]
    for dev in sorted(glob.glob("/dev/nvidia*")):
        cmd += ["--dev-bind", dev, dev]
    if glob.glob("/dev/nvidia*"):
        cmd += ["--ro-bind-try", "/sys", "/sys", "--ro-bind-try", "/proc/driver", "/proc/driver"]
    cmd += ["--bind", spool, spool, "--chdir", spool, "--", *argv]
    return cmd
