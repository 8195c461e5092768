"""Grading tasks over `jobs` processes, each with one warm zygote, each task through
`grading.grade` (the code path of `grade exercise03`)."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import grader
from grader import catalog
from grader.batch.discover import BatchError
from grader.batch.plan import Task
from grader.scorecard import Scorecard
from grader.worker.limits import Limits

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ grading one task


def _relabel(card: Scorecard, root: str, label: str) -> Scorecard:
    """Show paths relative to SUBMISSIONS: no teacher paths, same text on every machine."""

    def fix(text: str) -> str:
        return text.replace(root, label)

    card.submission = fix(card.submission)
    card.problem = fix(card.problem)
    card.notes = [fix(n) for n in card.notes]
    for c in card.checks:
        c.message, c.output = fix(c.message), fix(c.output)
    return card


def problem_card(task: Task, problem: str) -> Scorecard:
    """A scorecard for a task the grader could not finish: it scores 0 and is flagged as the
    grader's fault (to regrade)."""
    try:
        title = catalog.get(task.exercise).title
    except catalog.UnknownExercise:
        title = task.exercise
    return Scorecard(task.exercise, title, task.label, [], grader.__version__,
                     problem=problem, grader_fault=problem).stamp()


def grade_task(task: Task, session) -> Scorecard:
    """Grade one task with the GradingSession of this process; never raises for a bad submission."""
    try:
        card = session.grade(catalog.get(task.exercise), Path(task.path))
    except Exception as exc:  # a grader bug must cost this task only
        log.exception("grading %s of %s failed on the grader's side", task.exercise, task.label)
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return problem_card(task, f"grader problem (not the student's fault): "
                                  f"{type(exc).__name__}: {first}")
    if task.problem:  # e.g. the zip could not be unpacked: say so rather than "file missing"
        card.problem = task.problem
    return _relabel(card, task.root, task.label).stamp()


def _worker_main(conn, limits: Limits, preload: tuple[str, ...], environ: dict[str, str]) -> None:
    """A grading process: one GradingSession (warming the probes of the `preload` exercises),
    tasks from `conn` until None, SIGTERM or EOF. `environ` is the parent's environment now (the
    fork server's is that of when it started)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    os.environ.clear()
    os.environ.update(environ)
    from grader import logs

    logs.configure()
    stopping = []

    def stop(*_):
        stopping.append(True)
        raise KeyboardInterrupt  # Zygote.run kills its worker on the way out

    signal.signal(signal.SIGTERM, stop)
    from grader.session import GradingSession

    session = None
    try:
        session = GradingSession([catalog.get(ex) for ex in preload], limits=limits).ready()
        conn.send("ready")
        while not stopping:
            task = conn.recv()
            if task is None:
                return
            card = grade_task(task, session)
            if stopping:  # pytest may have swallowed the interrupt: the card is partial
                return
            conn.send(card.to_dict())
    except (KeyboardInterrupt, EOFError, BrokenPipeError, ConnectionResetError):
        pass
    finally:
        if session is not None:
            session.close()


# ------------------------------------------------------------------ the pool


@dataclass
class _Slot:
    proc: multiprocessing.Process
    conn: multiprocessing.connection.Connection
    ready: bool = False
    task: Task | None = None
    started: float = 0.0


START_SECONDS = 180.0  # a grading process that is not ready by then is stopped and replaced


def _context():
    """Grading processes start from a fork server that imported torch but never ran it: a
    plain fork of a process whose torch thread pool is up (a notebook, a test run) can
    hang in the child's first parallel op."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch"])  # grader modules import later, under `environ`
    return ctx


def task_deadline(limits: Limits) -> float:
    """Wall time after which the parent stops a grading process: far beyond the limits."""
    return 3 * limits.submission_seconds + 10 * limits.probe_seconds + 60


def grade_tasks(tasks: list[Task], on_done: Callable[[Task, Scorecard], None], *,
                jobs: int, limits: Limits, on_start: Callable[[Task], None] = lambda task: None,
                on_wait: Callable[[], None] = lambda: None) -> None:
    """Grade `tasks` over `jobs` processes, calling in this process `on_start` as each is
    handed out, `on_done` as each ends, and `on_wait` at least once a second.

    KeyboardInterrupt propagates after the processes are stopped.
    """
    ctx = _context()
    pending = deque(tasks)
    preload = tuple(sorted({t.exercise for t in tasks
                            if t.exercise in {ex.id for ex in catalog.exercises()}}))
    slots: list[_Slot] = []
    deadline = task_deadline(limits)
    failed_starts = 0

    def spawn() -> None:
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(theirs, limits, preload, dict(os.environ)), daemon=True,
                           name="grader-batch")
        proc.start()
        theirs.close()
        slots.append(_Slot(proc, ours, started=time.monotonic()))
        log.debug("grading process %d started", proc.pid)

    def retire(slot: _Slot, problem: str | None) -> None:
        nonlocal failed_starts
        log.warning("grading process %d stopped%s: %s", slot.proc.pid,
                    f" on {slot.task.label} × {slot.task.exercise}" if slot.task else "",
                    problem or "it did not start")
        if slot.task is not None:
            on_done(slot.task, problem_card(slot.task, problem or "grading stopped"))
        elif not slot.ready:
            failed_starts += 1
        slot.task = None
        _kill(slot.proc)
        slot.conn.close()
        slots.remove(slot)

    leaving: list[multiprocessing.Process] = []
    try:
        while pending or any(s.task for s in slots):
            if failed_starts > 3:
                raise BatchError("the grading processes fail to start (see the errors above; "
                                 "grade -v batch … logs each)")
            busy = sum(1 for s in slots if s.task)
            while len(slots) < min(jobs, busy + len(pending)):
                spawn()
            for s in slots:
                if s.ready and s.task is None and pending:
                    s.task, s.started = pending.popleft(), time.monotonic()
                    s.conn.send(s.task)
                    log.debug("process %d grades %s × %s", s.proc.pid, s.task.label, s.task.exercise)
                    on_start(s.task)
            waitables = [s.conn for s in slots] + [s.proc.sentinel for s in slots]
            ready = multiprocessing.connection.wait(waitables, timeout=1.0)
            on_wait()
            now = time.monotonic()
            for s in list(slots):
                if s.conn in ready:
                    try:
                        msg = s.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg == "ready":
                        s.ready = True
                        log.debug("grading process %d ready after %.1f s", s.proc.pid, now - s.started)
                    elif isinstance(msg, dict) and s.task is not None:
                        task, s.task = s.task, None
                        card = Scorecard.from_dict(msg)
                        log.info("%s × %s: %g/%g in %.1f s%s", task.label, task.exercise, card.score,
                                 card.max_score, now - s.started, " (grader error)" if card.grader_error else "")
                        on_done(task, card)
                    elif msg is None:
                        retire(s, "the grading process died while grading this submission")
                        continue
                if s.proc.sentinel in ready and not s.conn.poll():
                    code = s.proc.exitcode
                    retire(s, f"the grading process died (exit code {code}) while grading "
                              "this submission")
                elif s.task is not None and now - s.started > deadline:
                    retire(s, f"grading took longer than {deadline:g} s and was stopped")
                elif not s.ready and now - s.started > START_SECONDS:
                    retire(s, f"not ready within {START_SECONDS:g} s")
            for s in list(slots):  # nothing left to hand out: let idle processes go
                if not pending and s.ready and s.task is None:
                    leaving.append(_ask_to_stop(s))
                    slots.remove(s)
    finally:
        leaving += [_ask_to_stop(s) for s in slots]
        _reap(leaving)


def _ask_to_stop(slot: _Slot) -> multiprocessing.Process:
    """An idle process is told to finish; a busy one gets SIGTERM (its Zygote kills its worker)."""
    try:
        if slot.task is None:
            slot.conn.send(None)
        else:
            slot.proc.terminate()
    except (OSError, ValueError):
        slot.proc.terminate()
    slot.conn.close()
    return slot.proc


def _reap(procs: list[multiprocessing.Process], grace: float = 15.0) -> None:
    """Wait for the processes together; SIGKILL what is still there after `grace` seconds."""
    end = time.monotonic() + grace
    for proc in procs:
        proc.join(timeout=max(0.0, end - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            _kill(proc)


def _kill(proc: multiprocessing.Process) -> None:
    proc.terminate()
    proc.join(timeout=5)
    if proc.is_alive():
        proc.kill()
        proc.join()


