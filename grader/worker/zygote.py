"""The warm zygote: a process that imported torch once and forks one worker per probe.

It never runs submission code itself, so every fork starts from the same pristine state
(default dtype, grad mode, seeds, threads). Requests arrive as JSON on a SOCK_SEQPACKET
socket together with two file descriptors (result pipe, output pipe); the reply is the
worker's pid, whose process group the trusted side owns from then on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import socket
import sys

MAX_MESSAGE = 1 << 20


def _load_probes(path: str, cache: dict):
    if path not in cache:
        name = "grader_probes_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cache[path] = module
    return cache[path]


def serve(sock: socket.socket) -> None:
    from grader.worker import child

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the trusted side's to handle
    probes_cache: dict = {}
    sock.send(b'{"ready": true}')
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
        if not msg:
            return
        req = json.loads(msg)
        try:
            probes = _load_probes(req["probe_path"], probes_cache) if req["probe_path"] else None
        except Exception as exc:  # a broken hidden suite: report, keep serving
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            sock.close()
            child.main(req, fds[0], fds[1], probes)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    import numpy  # noqa: F401  (warm what probes and submissions import)
    import torch  # noqa: F401

    serve(sock)


if __name__ == "__main__":
    main()
