"""The trusted side of the worker: start the zygote, run probes, enforce the limits.

This module never imports submission code. It sends a request, waits on two pipes
(result and output) with a deadline, kills the worker's process group whatever happens,
and decodes the result frame with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.worker import sandbox, wire
from grader.worker.limits import Limits, user_processes

START_TIMEOUT = 120.0
WATCHDOG_GRACE = 0.5  # past a probe's limit, for the worker's watchdog to say what hung (child.Watchdog)
SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass
class Outcome:
    """What one probe run gave: status ok/raised/missing/exit/memory/crash/timeout/output/bad-data,
    or not-run (it entered a function that hung before; `extra["hung"]` names one that just did)."""

    status: str
    message: str = ""
    data: object = None
    output: str = ""
    detail: str = ""
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def worker_env(workdir: str) -> dict:
    """A scrubbed environment: no tokens or credentials reach submission code."""
    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env.update(HOME=workdir, TMPDIR=workdir, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    return env


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


class Zygote:
    """One warm zygote process (sandboxed when bwrap works); `run` forks a fresh worker per call."""

    def __init__(self, sandboxed: bool | None = None):
        self.sandboxed = sandbox.available() if sandboxed is None else sandboxed
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._spool: str | None = None
        self._sources: dict[str, str] = {}
        self._user_processes = 0
        self._ready = False
        self._preloading = 0
        self._unread = 0  # replies to `kill` requests not read yet
        self.on_run = None  # called with each request before it runs (a live progress line)

    def spawn(self, preload: tuple[str, ...] = ()) -> "Zygote":
        """Start the zygote without waiting for it; it imports torch and loads the `preload`
        probe modules while the caller does its own start-up."""
        if self._proc and self._proc.poll() is None:
            return self
        self.close()
        self._spool = tempfile.mkdtemp(prefix="grader-spool-")
        self._user_processes = user_processes()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-m", "grader.worker.zygote", str(theirs.fileno())]
        if self.sandboxed:
            argv = sandbox.command(argv + ["--sandboxed"], self._spool)
        self._proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                      env=worker_env(self._spool), cwd=self._spool)
        theirs.close()
        self._sock, self._ready = ours, False
        for path in preload:
            ours.send(json.dumps({"op": "preload", "probe_path": path,
                                  "probe_source": self._source(path)}).encode())
        self._preloading = len(preload)
        return self

    def start(self) -> None:
        """Spawn the zygote if needed and wait until it has imported torch."""
        self.spawn()
        if self._ready:
            return
        self._sock.settimeout(START_TIMEOUT)
        try:
            ready = self._sock.recv(4096)
        except OSError:
            ready = b""
        if not ready:
            self.close()
            raise RuntimeError("the grader's worker process failed to start"
                               + (" in the bwrap sandbox (GRADER_SANDBOX=off to run without)"
                                  if self.sandboxed else ""))
        for _ in range(self._preloading):  # a failed preload shows again when a probe needs it
            self._sock.recv(4096)
        self._sock.settimeout(None)
        self._ready = True

    def close(self) -> None:
        if self._sock:
            self._sock.close()
            self._sock = None
        self._unread = 0
        if self._proc:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._spool:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _source(self, path: str) -> str:
        if path not in self._sources:
            self._sources[path] = Path(path).read_text()
        return self._sources[path]

    def run(self, request: dict, limits: Limits, timeout: float | None = None) -> Outcome:
        """Run one request (module_path, module_name, probe_path, probe, kwargs) in a fresh worker.

        The module file (or `module_bytes`, when given) is copied into the worker's own
        folder in the spool, the only place a sandboxed worker can see it. A zygote that
        died (a worker may kill it) is restarted once.
        """
        timeout = limits.probe_seconds if timeout is None else timeout
        if self.on_run is not None:
            self.on_run(request)
        for attempt in (1, 2):
            self.start()
            workdir = tempfile.mkdtemp(prefix="work-", dir=self._spool)
            module_copy = Path(workdir) / (request["module_name"] + ".py")
            module_bytes = request.get("module_bytes")
            if module_bytes is None:
                shutil.copyfile(request["module_path"], module_copy)
            else:
                module_copy.write_bytes(module_bytes)
            req = {**{k: v for k, v in request.items() if k != "module_bytes"},
                   "module_path": str(module_copy), "workdir": workdir,
                   "limits": {**limits.to_dict(),
                              "nproc": self._user_processes + 64 + limits.extra_processes},
                   "env": worker_env(workdir), "timeout_s": timeout,
                   "probe_source": self._source(request["probe_path"]) if request["probe_path"] else ""}
            result_r, result_w = os.pipe()
            out_r, out_w = os.pipe()
            try:
                reply = self._ask(json.dumps(req).encode(), [result_w, out_w])
                start = time.monotonic()
            finally:
                os.close(result_w)
                os.close(out_w)
            if "pid" in reply:
                break
            os.close(result_r)
            os.close(out_r)
            shutil.rmtree(workdir, ignore_errors=True)
            if "error" in reply or attempt == 2:
                raise RuntimeError(f"the grader's worker could not start: {reply.get('error', 'zygote gone')}")
            self.close()
        try:
            outcome = self._collect(result_r, out_r, start + timeout + WATCHDOG_GRACE, limits)
        finally:
            self._kill(reply["pid"])
            os.close(result_r)
            os.close(out_r)
            shutil.rmtree(workdir, ignore_errors=True)
        outcome.duration_s = time.monotonic() - start
        return outcome

    def _kill(self, pid: int) -> None:
        """End the worker and everything it left behind. The zygote sweeps the orphans
        before it reads the next request, so its reply is read with the next one's and the
        sweep overlaps the checking of this probe's data."""
        if not self.sandboxed:
            _kill_group(pid)  # pids are only meaningful here outside a PID namespace
        try:
            self._sock.send(json.dumps({"op": "kill", "pid": pid}).encode())
            self._unread += 1
        except (OSError, AttributeError):
            self.close()  # zygote gone: with it its PID namespace and every process in it

    def _ask(self, message: bytes, fds: list[int]) -> dict:
        try:
            if fds:
                socket.send_fds(self._sock, [message], fds)
            else:
                self._sock.send(message)
            for _ in range(self._unread):
                if not self._sock.recv(4096):
                    return {}
            self._unread = 0
            return json.loads(self._sock.recv(4096) or b"{}")
        except OSError:
            return {}

    @staticmethod
    def _collect(result_r: int, out_r: int, deadline: float, limits: Limits) -> Outcome:
        result, output = bytearray(), bytearray()
        output_total = 0
        open_fds = {result_r, out_r}
        status = None
        while result_r in open_fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                status = "timeout"
                break
            ready, _, _ = select.select(list(open_fds), [], [], remaining)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    open_fds.discard(fd)
                elif fd == result_r:
                    result += chunk
                else:
                    output_total += len(chunk)
                    if len(output) < limits.output_bytes:
                        output += chunk[: limits.output_bytes - len(output)]
            want = wire.expected_length(result)
            if want is not None and len(result) >= want:
                break
            if output_total > limits.output_kill_bytes:
                status = "output"
                break
        text = output.decode("utf-8", "replace")
        if output_total > len(output):
            text += f"\n[output truncated: {output_total - len(output)} more bytes not shown]"
        if status == "timeout":
            return Outcome("timeout", f"took longer than {limits.probe_seconds:g} s and was stopped "
                           "(an endless loop, or far too much work?)", output=text)
        if status == "output":
            return Outcome("output", f"printed more than {limits.output_kill_bytes >> 20} MB "
                           "of output and was stopped", output=text)
        try:
            header, data = wire.decode(bytes(result))
        except wire.WireError:
            return Outcome("crash", "the worker process ended without a result: your code called "
                           "os._exit(), crashed, or was killed for using too much memory", output=text)
        hung = header.get("hung")
        return Outcome(str(header.get("status", "bad-data")), str(header.get("message", "")), data,
                       output=text, detail=str(header.get("detail", "")),
                       extra={"hung": hung} if isinstance(hung, str) and hung else {})
