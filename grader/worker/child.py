"""The untrusted side: what a freshly forked worker does with one probe request.

Runs in its own process group with resource limits and a private working directory,
imports the submission, runs one probe function on it and writes one frame
(see ``wire``) to the result pipe. Nothing here is trusted by the grader: the trusted
side checks the frame's shape and the data's values itself.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import re
import signal
import sys
import threading
import time
import traceback

from grader.worker import limits, wire


class MissingAPI(AttributeError):
    """The submission lacks a name the exercise's API requires."""


class StudentModule:
    """The submission as probes see it: attribute access with a clear message when missing."""

    def __init__(self, module, filename: str):
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_filename", filename)

    def __getattr__(self, name):
        try:
            return getattr(self._module, name)
        except AttributeError:
            raise MissingAPI(f"{self._filename} does not define `{name}`") from None


# Per module copy's path: the name the student knows the file by (imp.py, work.ipynb) and,
# for a notebook, the [cell, line in cell] each line of the module came from.
DISPLAY_NAMES: dict[str, str] = {}
CELL_LINES: dict[str, list] = {}


def display_name(path: str) -> str:
    """The name messages give the file at `path` (the student's own, e.g. a notebook's)."""
    return DISPLAY_NAMES.get(path, os.path.basename(path))


def _cell(path: str, lineno: int | None) -> tuple[str, int | None]:
    """(file name as the student knows it, with the notebook cell if any; line number there)."""
    cells = CELL_LINES.get(path) or []
    found = cells[lineno - 1] if lineno and 0 < lineno <= len(cells) else None
    if isinstance(found, list) and len(found) == 2:
        return f"{display_name(path)}, {found[0]}", found[1]
    return display_name(path), lineno


def where(path: str, lineno: int | None) -> str:
    """`imp.py, line 7`, or `work.ipynb, In [3], line 2` for a notebook."""
    name, line = _cell(path, lineno)
    return f"{name}, line {line}"


def _student_frames(exc: BaseException, path: str) -> list:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename) == path]
    for f in frames:  # their source lines are already read (extract_tb looks them up)
        f.filename, f.lineno = _cell(path, f.lineno)
    return frames


# How each CUDA-less build of torch refuses cuda: the CPU build, a CUDA build without a
# driver or without a GPU. `error_line` reads them all as one, so diagnoses do not depend on
# which build a student or a CI machine installed.
NO_CUDA = ("Torch not compiled with CUDA enabled", "Found no NVIDIA driver", "No CUDA GPUs are available",
           "no CUDA-capable device is detected", "CUDA driver initialization failed")
NO_CUDA_LINE = ("CUDA unavailable: the code used cuda on a machine without it (torch not compiled "
                "with CUDA enabled, or no NVIDIA driver or GPU)")


def error_line(exc: BaseException, limit: int = 200) -> str:
    """`Type: first line of the message`, at most `limit` characters; CUDA missing reads the
    same on every torch build."""
    text = str(exc).strip()
    if any(marker in text for marker in NO_CUDA):
        return NO_CUDA_LINE
    line = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe_exception(exc: BaseException, path: str) -> str:
    """One line: which function of the submission raised what, and where."""
    detail = error_line(exc, 300)
    frames = _student_frames(exc, path)
    if not frames:
        return f"{detail} (raised while the grader used what your code returned)"
    inner = frames[-1]
    outer = _outer_qualname(exc, path)
    if outer == "<module>":
        return f"{detail} ({inner.filename}, line {inner.lineno})"
    if isinstance(exc, NotImplementedError):
        return f"`{outer}` is not implemented yet ({detail})"
    return f"`{outer}` raised {detail} ({inner.filename}, line {inner.lineno})"


def _outer_qualname(exc: BaseException, path: str) -> str:
    """The qualified name (e.g. `Standardizer.fit`) of the first submission frame."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.abspath(code.co_filename) == path:
            return getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    return "?"


def describe_signature(obj) -> dict:
    """Kind and parameters of a public name, as plain data."""
    if inspect.isclass(obj):
        kind, target = "class", obj.__init__
    elif callable(obj):
        kind, target = "function", obj
    else:
        return {"kind": type(obj).__name__, "params": []}
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {"kind": kind, "params": None}
    params = [
        [p.name, int(p.kind), p.default is not inspect.Parameter.empty]
        for p in sig.parameters.values()
    ]
    if kind == "class" and params and params[0][0] == "self":
        params = params[1:]
    return {"kind": kind, "params": params}


def describe_api(module: StudentModule, names: list[str]) -> dict:
    """What the module defines of the exercise's API: kind and signature of each name."""
    out = {}
    for name in names:
        try:
            out[name] = describe_signature(getattr(module, name))
        except MissingAPI:
            out[name] = {"kind": "missing", "params": []}
    return out


def load_module(path: str, name: str):
    """Import the submission from its file under `name`."""
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _outcome(status: str, message: str, detail: str = "", **extra) -> dict:
    return {"status": status, "message": message, "detail": detail, **extra}


class Skipped(BaseException):
    """Raised on entering a function that hung in an earlier probe (BaseException, so that
    a submission's `except Exception` does not swallow it)."""


def skip_hung(module, hung: dict) -> None:
    """Make each function that hung earlier (by qualified name) raise `Skipped(message)`."""
    for qualname, message in hung.items():
        *outer, last = qualname.split(".")
        owner = module
        try:
            for part in outer:
                owner = getattr(owner, part)
            original = getattr(owner, last)
        except AttributeError:
            continue
        if not callable(original):
            continue

        @functools.wraps(original)
        def refuse(*args, _message=message, **kwargs):
            raise Skipped(_message)

        try:
            setattr(owner, last, refuse)
        except (AttributeError, TypeError):
            continue


HUNG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _stack(frame, path: str) -> list:
    """The frames of the submission's file on a thread's stack, outermost first."""
    found = []
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == path:
            found.append(frame)
        frame = frame.f_back
    return found[::-1]


class Watchdog:
    """Names the submission's function that does not return before the probe's deadline.

    A thread samples the main thread's stack over the last part of the time limit; the
    innermost frame of the submission's file that stayed on the stack in every sample
    did not return. At the deadline it writes a `timeout` frame naming it and ends the
    worker (the trusted side kills it a moment later regardless, so a call that never
    gives up the GIL only loses the name)."""

    def __init__(self, path: str, timeout: float, write):
        self.path, self.timeout, self.write = path, timeout, write
        self.start = time.monotonic()
        self.main = threading.main_thread().ident

    def begin(self) -> None:
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        sample_from = self.start + max(0.5 * self.timeout, self.timeout - 5.0)
        report_at = self.start + self.timeout
        time.sleep(max(0.0, sample_from - time.monotonic()))
        common = None
        while time.monotonic() < report_at:
            stack = _stack(sys._current_frames().get(self.main), self.path)
            if common is None:
                common = stack
            else:
                n = 0
                while n < min(len(common), len(stack)) and common[n] is stack[n]:
                    n += 1
                common = common[:n]
            time.sleep(min(0.05, max(0.0, report_at - time.monotonic())))
        self.write(self.report(common or []))
        os._exit(0)

    def report(self, common: list) -> dict:
        """The `timeout` outcome naming the function that did not return (if any)."""
        limit = f"{self.timeout:.3g} s"
        name = display_name(self.path)
        stopped = "an endless loop, or far too much work?"
        if not common:
            return _outcome("timeout", f"took longer than {limit} and was stopped ({stopped})")
        frame = common[-1]
        at = where(self.path, frame.f_lineno)
        qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        if qualname == "<module>":
            return _outcome("timeout", f"importing {name} did not finish within {limit} ({at}): "
                            "an endless loop at the top level of the file?")
        outer = getattr(common[0].f_code, "co_qualname", common[0].f_code.co_name)
        hung = qualname.split(".<locals>")[0]
        if outer != qualname and outer != "<module>":
            message = f"`{outer}` did not return within {limit}: it was running `{qualname}` ({at}); {stopped}"
        else:
            message = f"`{qualname}` did not return within {limit} ({at}): {stopped}"
        extra = {"hung": hung} if HUNG_NAME.fullmatch(hung) else {}
        return _outcome("timeout", message, **extra)


def run_request(req: dict, probes) -> tuple[dict, object]:
    """Import the submission and run the probe; never raises."""
    path = req["module_path"]
    filename = display_name(path)
    stage = "import"
    try:
        module = StudentModule(load_module(path, req["module_name"]), filename)
        skip_hung(module._module, req.get("hung") or {})
        stage = "probe"
        if req["probe"] == "__api__":
            result = describe_api(module, req["kwargs"]["names"])
        else:
            result = getattr(probes, req["probe"])(module, **req["kwargs"])
        stage = "send"
        data = wire.to_plain(result)
    except MissingAPI as exc:
        return _outcome("missing", str(exc)), None
    except Skipped as exc:
        return _outcome("not-run", str(exc)), None
    except MemoryError:
        return _outcome("memory", "your code ran out of memory (the worker's memory limit was hit)"), None
    except SystemExit as exc:
        return _outcome("exit", f"your code called sys.exit({exc.code!r}) during {stage}"), None
    except KeyboardInterrupt:
        return _outcome("exit", f"your code raised KeyboardInterrupt during {stage}"), None
    except BaseException as exc:
        frames = traceback.format_list(_student_frames(exc, path))
        detail = "".join(["Traceback (your code):\n", *frames,
                          *traceback.format_exception_only(type(exc), exc)]) if frames else ""
        if stage == "send":
            return _outcome("bad-data", f"your code returned something the grader cannot read: {exc}"), None
        message = describe_exception(exc, path)
        if stage == "import":
            message = f"importing {filename} failed: {message}"
        return _outcome("raised", message, detail), None
    return _outcome("ok", ""), data


def main(req: dict, result_fd: int, output_fd: int, probes) -> None:
    """Entry point of a forked worker. Never returns."""
    try:
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        limits.apply(req["limits"])
        os.chdir(req["workdir"])
        os.environ.clear()
        os.environ.update(req["env"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        path = req["module_path"]
        DISPLAY_NAMES[path] = req.get("filename") or os.path.basename(path)
        CELL_LINES[path] = req.get("lines") or []
        once = threading.Lock()

        def send(header: dict, data=None) -> None:
            """Write the one result frame; whoever comes second (probe or watchdog) never returns."""
            if not once.acquire(blocking=False):
                while True:
                    time.sleep(60)
            try:
                frame = wire.encode(header, data)
            except BaseException as exc:
                frame = wire.encode(_outcome("bad-data", f"result could not be encoded: {exc}"))
            view = memoryview(frame)
            while view:
                view = view[os.write(result_fd, view) :]

        if req.get("timeout_s"):
            Watchdog(path, float(req["timeout_s"]), send).begin()
        header, data = run_request(req, probes)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        send(header, data)
    finally:
        os._exit(0)
