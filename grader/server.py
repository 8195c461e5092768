"""A warm grading server, so that a student's repeated `grade` runs skip torch's start-up.

An interactive `grade exerciseNN` (stdout a terminal, no `CI` variable) that finds no
server grades locally, then starts one in the background; later runs only send it
(exercise id, absolute path) over a Unix socket in a folder only this user can open, and
get back one JSON line per probe as it starts (for the live line), then the scorecard.
The server grades through one `session.GradingSession` kept warm between runs: the same
trusted code path and the same isolation of student code.
It leaves after `IDLE_SECONDS` without a request. The socket's name is a fingerprint of
the grader's and the solutions' files and of the settings, so changing any of them starts
a fresh server. `GRADER_SERVER=off` never uses one, `on` always does. Started by a `grade`
that logs (`grade -v`, GRADER_LOG), it logs to `<socket>.log` beside its socket.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import grader
from grader import settings
from grader.catalog import PACKAGE_DIR, Exercise
from grader.scorecard import Scorecard

log = logging.getLogger(__name__)
IDLE_SECONDS = 900.0
MAX_REQUESTS = 500  # then a fresh server, so nothing accumulates for days
ANSWER_SECONDS = 300.0
SETTINGS = ("GRADER_SOLUTIONS", "GRADER_CACHE_DIR", "GRADER_SANDBOX", "GRADER_REFERENCES",
            "GRADER_COURSE")  # what changes a grading: a server started under others is not asked


def enabled() -> bool:
    """GRADER_SERVER=on/off; auto: at a terminal, outside CI."""
    mode = settings.switch("GRADER_SERVER")
    return (sys.stdout.isatty() and not os.environ.get("CI")) if mode is None else mode


def runtime_dir() -> Path | None:
    """This user's private folder for the socket, or None if it is not safely ours."""
    base = settings.raw("GRADER_RUNTIME_DIR") or os.environ.get("XDG_RUNTIME_DIR") \
        or tempfile.gettempdir()
    folder = Path(base) / f"pytorch-grader-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() \
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    return folder if private else None


def fingerprint() -> str:
    """Changes whenever the grader's code, the solutions, the Python or the settings do."""
    from grader.catalog import exercises

    h = hashlib.sha256(f"{grader.__version__}\0{sys.executable}".encode())
    for name in SETTINGS:
        h.update(f"\0{name}={settings.raw(name)}".encode())
    roots = [PACKAGE_DIR, *{ex.solution_path.parent.parent for ex in exercises()}]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".ini") and "__pycache__" not in path.parts:
                info = path.stat()
                h.update(f"\0{path}\0{info.st_mtime_ns}\0{info.st_size}".encode())
    return h.hexdigest()[:16]


def socket_path() -> Path | None:
    """Where this user's warm server listens, named for the grader's files and settings; None without a private folder."""
    folder = runtime_dir()
    return folder / f"{fingerprint()}.sock" if folder else None


def _ask(path: Path, request: dict, timeout: float,
         on_probe: Callable[[str], None] | None = None) -> dict | None:
    """The server's reply ({} if it failed), or None when no server listens at `path`.
    The reply is JSON lines: `{"probe": name}` as each probe starts, then the answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            try:
                sock.sendall(json.dumps(request).encode())
                sock.shutdown(socket.SHUT_WR)
                pending = b""
                for chunk in iter(lambda: sock.recv(1 << 16), b""):
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        progress = json.loads(line)
                        if on_probe and isinstance(progress, dict) and isinstance(progress.get("probe"), str):
                            on_probe(progress["probe"])
                reply = json.loads(pending)
            except (OSError, ValueError):
                return {}
    except OSError:
        return None
    return reply if isinstance(reply, dict) else {}


def start(exercise: Exercise) -> None:
    """Start a server in the background, warming `exercise` first (in a session of its own,
    so closing the terminal leaves it running)."""
    path = socket_path()
    if path is None:
        return
    from grader import logs

    logged = logs.level() != "off"
    with open(path.with_suffix(".log"), "a") if logged else contextlib.nullcontext() as log_file:
        subprocess.Popen([sys.executable, "-m", "grader.server", str(path), "--preload", exercise.id],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=log_file or subprocess.DEVNULL, start_new_session=True, cwd=path.parent)


def grade(exercise: Exercise, submission: Path,
          on_probe: Callable[[str], None] | None = None) -> Scorecard | None:
    """The scorecard from the warm server, or None when none is listening (grade locally
    then, and `start` one for next time); `on_probe` hears each probe's name as it starts."""
    path = socket_path()
    if path is None:
        return None
    reply = _ask(path, {"exercise": exercise.id, "path": str(submission.resolve())}, ANSWER_SECONDS,
                 on_probe)
    if reply is None:  # no server, or a stale socket left by one that was killed
        path.unlink(missing_ok=True)
    if not reply or not isinstance(reply.get("card"), dict):
        return None
    try:
        card = Scorecard.from_dict(reply["card"])
    except (KeyError, TypeError):
        return None
    if not submission.is_absolute():
        with contextlib.suppress(ValueError):
            card.submission = os.path.relpath(card.submission)
    return card


def _answer(conn: socket.socket, session) -> None:
    from grader import catalog

    conn.settimeout(10)
    data = b"".join(iter(lambda: conn.recv(1 << 16), b""))
    conn.settimeout(None)

    def progress(probe: str) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"probe": probe}).encode() + b"\n")

    try:
        request = json.loads(data)
        card = session.grade(catalog.get(request["exercise"]), Path(request["path"]), on_probe=progress)
        reply = {"card": card.stamp().to_dict()}
        log.info("graded %s for %s: %g/%g", request["path"], request["exercise"], card.score, card.max_score)
    except Exception as exc:  # the client grades locally and shows the real error there
        log.exception("a request failed; the client grades it itself")
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(reply).encode())


def serve(path: Path, preload: str | None = None, idle_s: float = IDLE_SECONDS) -> None:
    """Listen on `path` until idle for `idle_s`; one server per path (a lock file says so)."""
    lock = open(path.with_suffix(".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server has this path
    lock.write(str(os.getpid()))
    lock.flush()
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    listener.listen(16)
    from grader import catalog
    from grader.session import GradingSession

    session = GradingSession([catalog.get(preload)] if preload else [])
    log.info("serving on %s (pid %d)", path, os.getpid())
    listener.settimeout(idle_s)
    try:
        for _ in range(MAX_REQUESTS):
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                log.info("idle for %g s: leaving", idle_s)
                break
            with conn:
                uid = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                if int.from_bytes(uid[4:8], sys.byteorder) == os.getuid():
                    _answer(conn, session)
    finally:
        path.unlink(missing_ok=True)
        listener.close()
        session.close()
        lock.close()


def main() -> None:
    """The server process: `python -m grader.server SOCKET [--preload ID] [--idle S]`."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket", type=Path)
    ap.add_argument("--preload", default=None, help="exercise whose probes to warm first")
    ap.add_argument("--idle", type=float, default=IDLE_SECONDS, help="seconds before leaving")
    args = ap.parse_args()
    from grader import logs

    logs.configure()  # to <socket>.log, when the starting `grade` logged
    serve(args.socket, args.preload, args.idle)
    os._exit(0)


if __name__ == "__main__":
    main()
