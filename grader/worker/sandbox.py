"""The bubblewrap sandbox the zygote (and so every worker) runs in, when `bwrap` works here.

Inside: a read-only view of the system libraries, Python and its packages, and the grader
package with the hidden suites' folders masked; no solutions, no other submissions, no
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

from grader.catalog import PACKAGE_DIR, SUITES_DIR

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")


def disabled() -> bool:
    return os.environ.get("GRADER_SANDBOX", "auto").lower() in ("0", "off", "no", "false")


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


def _python_dirs() -> list[str]:
    """Where the interpreter and its packages live, minus any folder that holds the project."""
    project = PACKAGE_DIR.parent
    dirs = {sys.base_prefix, sys.prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent)}
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            dirs.add(os.path.realpath(entry))
    keep = set()
    for d in dirs:
        if Path(d) == project or project.is_relative_to(d):
            continue  # would expose solutions/ and everything beside the package
        keep.add(d)
    return sorted(keep)


def command(argv: list[str], spool: str) -> list[str]:
    """The bwrap command line that runs `argv` sandboxed, with `spool` writable."""
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
           "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in SYSTEM_DIRS:
        cmd += ["--ro-bind-try", d, d]
    for f in ETC_FILES:
        cmd += ["--ro-bind-try", f, f]
    for d in _python_dirs():
        cmd += ["--ro-bind", d, d]
    cmd += ["--ro-bind", str(PACKAGE_DIR), str(PACKAGE_DIR)]
    for suite in sorted(SUITES_DIR.glob("exercise*")):
        cmd += ["--tmpfs", str(suite)]  # hidden checks stay hidden; probes arrive as source
    for dev in sorted(glob.glob("/dev/nvidia*")):
        cmd += ["--dev-bind", dev, dev]
    if glob.glob("/dev/nvidia*"):
        cmd += ["--ro-bind-try", "/sys", "/sys", "--ro-bind-try", "/proc/driver", "/proc/driver"]
    cmd += ["--bind", spool, spool, "--chdir", spool, "--", *argv]
    return cmd
