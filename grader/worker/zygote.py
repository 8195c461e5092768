"""The warm zygote: a process that imported torch once and forks one worker per probe.

It never runs submission code itself, so every fork starts from the same pristine state
(default dtype, grad mode, seeds, threads). Requests arrive as JSON on a SOCK_SEQPACKET
socket: `fork` (with two file descriptors, result and output pipes; the reply is the
worker's pid) and `kill` (end that worker and every process it left behind). The zygote
is a child subreaper, so orphans of a worker are re-parented to it and cannot escape.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import signal
import socket
import sys
import time
import types

from grader.worker import child, salting

MAX_MESSAGE = 1 << 20
PR_SET_CHILD_SUBREAPER = 36


def _load_probes(req: dict, cache: dict):
    """Probe modules arrive as source, so the hidden suites need not be visible here."""
    key = hashlib.sha256(req["probe_source"].encode()).hexdigest()
    if key not in cache:
        module = types.ModuleType("grader_probes_" + key[:12])
        module.__file__ = req["probe_path"]
        sys.modules[module.__name__] = module  # where dataclasses look up the module's names
        exec(compile(req["probe_source"], req["probe_path"], "exec"), module.__dict__)
        if callable(getattr(module, "warm", None)):
            module.warm()  # e.g. pay torch._dynamo's import (first optimizer) once, not per fork
        cache[key] = module
    return cache[key]


def _children() -> list[int]:
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2 :].split()[1]) == me:
                found.append(int(entry))
    return found


def kill_all(pid: int, sandboxed: bool) -> int:
    """SIGKILL the worker's group, then every process left re-parented to us; returns sweeps."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    return _sweep(sandboxed)


def _sweep(sandboxed: bool) -> int:
    """SIGKILL every process that is ours until none is left; returns the rounds it took."""
    for sweep in range(100):
        if sandboxed:
            try:
                os.kill(-1, signal.SIGKILL)  # everything in our PID namespace but us and init
            except OSError:
                pass
        left = _children()
        if not left:
            return sweep
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.001 * (sweep + 1))
    return -1


def serve(sock: socket.socket, sandboxed: bool) -> None:
    """Answer requests until the grader closes the socket; then kill whatever is left."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers and orphans are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the trusted side's to handle
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    probes_cache: dict = {}
    try:
        sock.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
        while _answer(sock, sandboxed, probes_cache):
            pass
    except OSError:  # the grader went away
        pass
    finally:
        _sweep(sandboxed)


def _answer(sock: socket.socket, sandboxed: bool, probes_cache: dict) -> bool:
    """Read and answer one request; False once the grader has closed the socket."""
    msg, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
    if not msg:
        return False
    req = json.loads(msg)
    if req.get("op") == "kill":
        sock.send(json.dumps({"sweeps": kill_all(req["pid"], sandboxed)}).encode())
        return True
    if req.get("op") == "preload":
        try:
            _load_probes(req, probes_cache)
            sock.send(b'{"ok": true}')
        except Exception as exc:
            sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return True
    try:
        probes = _load_probes(req, probes_cache) if req.get("probe_source") else None
    except Exception as exc:  # a broken hidden suite: report, keep serving
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return True
    pid = os.fork()
    if pid == 0:
        sock.close()
        salting.apply(int(req.get("salt", 0)))
        child.main(req, fds[0], fds[1], probes)
    for fd in fds:
        os.close(fd)
    sock.send(json.dumps({"pid": pid}).encode())
    return True


def main() -> None:
    """The zygote process: `python -m grader.worker.zygote FD [--sandboxed]`."""
    sock = socket.socket(fileno=int(sys.argv[1]))
    import numpy  # noqa: F401  (warm what probes and submissions import)
    import torch  # noqa: F401

    serve(sock, sandboxed="--sandboxed" in sys.argv)
    os._exit(0)  # nothing to flush; skips torch's slow interpreter teardown


if __name__ == "__main__":
    main()
