"""Grade a whole class: every submission × exercise, in parallel, into a results folder.

    SUBMISSIONS/                      OUT/
      alice/        (a folder,          gradebook.csv     one row per student
      bob.zip        a zip,             summary.md/.json  distributions, the checks that fail most
      carol.ipynb    or one file)       histogram.png     total scores (when matplotlib is there)
                                        scorecards/<student>/<exercise id>.json and .md

Also understood: a GitHub Classroom download (`gh classroom clone student-repos` makes
`<assignment>-submissions/<assignment>-<login>/`: the login is the student id) and a
Gradescope export (`submission_metadata.yml` next to `submission_<n>/` folders: the
submitter's sid, else e-mail, names the student).

Each of `jobs` processes keeps one warm Zygote and grades through `grading.grade`, the
same code path as `grade exercise03`. The parent assigns one task at a time, writes each
scorecard atomically as it arrives, stops a grading process that overruns a generous
deadline or dies (that task gets an error scorecard, everyone else carries on), and on
Ctrl-C stops the processes and keeps what is done. Reports are built from the scorecards
on disk alone, so `--resume`, shards and `merge` give the same gradebook as one run.
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import grader
from grader import catalog
from grader.render import gradebook, markdown
from grader.scorecard import Scorecard
from grader.submission import locate
from grader.worker.limits import Limits

SUFFIXES = (".py", ".ipynb", ".zip")
IGNORED = {"__MACOSX", "__pycache__", "scorecards", ".git", ".venv", "venv", "node_modules",
           ".ipynb_checkpoints", "site-packages"}
MAX_UNPACKED_BYTES = 200 << 20
MAX_MEMBERS = 5000
MAX_SCAN_FILES = 2000
MAX_SCAN_BYTES = 2 << 20
SCAN_DEPTH = 5
GRADESCOPE_METADATA = "submission_metadata.yml"


class BatchError(Exception):
    """The batch cannot start or go on (bad arguments, results folder in use...)."""


# ------------------------------------------------------------------ finding the students


@dataclass(frozen=True)
class Student:
    id: str
    root: Path  # the folder (a zip unpacked) or the single file to grade
    label: str  # how `root` is shown on scorecards, relative to SUBMISSIONS
    problem: str = ""  # why the submission could not even be unpacked


def unpack_zip(archive: Path, dest: Path) -> str:
    """Extract `archive` into `dest` safely; '' or a one-line reason it cannot be read."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                return f"{archive.name} holds {len(members)} files; that is too many to grade"
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                return f"{archive.name} unpacks to more than {MAX_UNPACKED_BYTES >> 20} MB"
            for m in members:
                parts = Path(m.filename.replace("\\", "/")).parts
                is_link = (m.external_attr >> 16) & 0o170000 == 0o120000
                if (m.is_dir() or is_link or not parts or parts[0] in ("/", "__MACOSX")
                        or ".." in parts or ":" in parts[0]):
                    continue
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, RuntimeError,
            EOFError, NotImplementedError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return f"{archive.name} is not a readable zip archive ({reason})"
    return ""


def _single_folder(path: Path) -> Path:
    """Descend through folders that hold nothing but one folder (how zips are often made)."""
    for _ in range(3):
        entries = [p for p in path.iterdir()
                   if p.name not in IGNORED and not p.name.startswith(".")]
        if len(entries) != 1 or not entries[0].is_dir():
            break
        path = entries[0]
    return path


def _gradescope_ids(metadata: Path) -> dict[str, str]:
    """submission folder → student id from a Gradescope export's submission_metadata.yml.

    The file is YAML with Ruby-symbol keys (`submission_123:`, `:submitters:`, `- :sid:`);
    a small line reader covers it without a YAML dependency.
    """
    ids: dict[str, list[dict]] = {}
    current = None
    in_submitters = False
    submitters_indent = 0
    for raw in metadata.read_text(errors="replace").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if indent == 0:
            current = line.rstrip(":").strip("'\"") if line.endswith(":") else None
            in_submitters = False
            if current:
                ids.setdefault(current, [])
            continue
        if current is None:
            continue
        if line.startswith(":submitters:"):
            in_submitters = not ids[current]  # only the first list, not one in :history:
            submitters_indent = indent
            continue
        if in_submitters:
            if indent <= submitters_indent and not line.startswith("-"):
                in_submitters = False
                continue
            if line.startswith("- "):
                ids[current].append({})
                line = line[2:].strip()
            match = re.match(r":?(\w+):\s*(.*)", line)
            if match and ids[current]:
                ids[current][-1][match.group(1)] = match.group(2).strip().strip("'\"")
    result = {}
    for folder, people in ids.items():
        names = [p.get("sid") or p.get("email", "").split("@")[0] or p.get("name", "")
                 for p in people]
        names = [re.sub(r"[^\w.@+-]+", "_", n).strip("_") for n in names if n]
        if names:
            result[folder] = "+".join(names)
    return result


def discover(submissions: Path, unpack_dir: Path, exclude: Path | None = None) -> list[Student]:
    """The students in `submissions`, sorted by id; zips are unpacked into `unpack_dir`.

    `exclude` (the results folder, should it be inside) is not a student.
    """
    if submissions.is_file() and submissions.suffix == ".zip":
        whole = unpack_dir / "_all"
        problem = unpack_zip(submissions, whole)
        if problem:
            raise BatchError(problem)
        submissions = _single_folder(whole)
        if not (submissions / GRADESCOPE_METADATA).exists() and any(
                p.is_dir() and (p / GRADESCOPE_METADATA).exists() for p in submissions.iterdir()):
            submissions = next(p for p in submissions.iterdir()
                               if (p / GRADESCOPE_METADATA).exists())
    submissions = submissions.resolve()
    if not submissions.is_dir():
        raise BatchError(f"{submissions} is not a folder of submissions")
    renamed: dict[str, str] = {}
    if (submissions / GRADESCOPE_METADATA).is_file():
        renamed = _gradescope_ids(submissions / GRADESCOPE_METADATA)
    prefix = ""
    if submissions.name.endswith("-submissions"):  # gh classroom clone student-repos
        prefix = submissions.name[: -len("submissions")]
    students: dict[str, Student] = {}
    for entry in sorted(submissions.iterdir()):
        name = entry.name
        if name.startswith((".", "_")) or name in IGNORED:
            continue
        if entry.is_file() and entry.suffix.lower() not in SUFFIXES:
            continue
        if not (entry.is_file() or entry.is_dir()) or (exclude and entry.resolve() == exclude):
            continue
        sid = renamed.get(name) or (entry.stem if entry.is_file() else name)
        if prefix and sid.startswith(prefix) and len(sid) > len(prefix):
            sid = sid[len(prefix):]
        if sid in students:
            sid = name
        root, problem = entry, ""
        if entry.is_file() and entry.suffix.lower() == ".zip":
            root = unpack_dir / f"{len(students):05d}"
            problem = unpack_zip(entry, root)
            if not problem:
                root = _single_folder(root)
        students[sid] = Student(sid, root, name, problem)
    return sorted(students.values(), key=lambda s: s.id)


# ------------------------------------------------------------------ what each one attempted


def _defined_names(path: Path) -> set[str]:
    """Top-level function and class names a .py or .ipynb defines (parsed, never run)."""
    try:
        if path.stat().st_size > MAX_SCAN_BYTES:
            return set()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            sources = ["".join(c["source"]) if isinstance(c.get("source"), list)
                       else str(c.get("source", "")) for c in cells
                       if isinstance(c, dict) and c.get("cell_type") == "code"]
        else:
            sources = [text]
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError, KeyError):
        return set()
    names = set()
    for source in sources:
        source = "\n".join(line for line in source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        names |= {n.name for n in tree.body
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


def _scan(root: Path) -> list[Path]:
    """The .py and .ipynb files under `root`, shallowest first, within bounds."""
    found, queue = [], deque([(root, 0)])
    while queue and len(found) < MAX_SCAN_FILES:
        folder, depth = queue.popleft()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for p in entries:
            if p.name.startswith(".") or p.name in IGNORED or p.is_symlink():
                continue
            if p.is_dir() and depth < SCAN_DEPTH:
                queue.append((p, depth + 1))
            elif p.is_file() and p.suffix in (".py", ".ipynb"):
                found.append(p)
    return found


def detect(root: Path, exercises: Iterable[catalog.Exercise]) -> dict[str, Path]:
    """exercise id → the file (or folder) to grade, for the exercises `root` attempts.

    By name first (`<module>.py` or `<module>.ipynb`, where `locate` looks, else anywhere
    below); then by content: a file no exercise claims by name that defines at least half
    of an exercise's API (parsed, never run).
    """
    exercises = list(exercises)
    found: dict[str, Path] = {}
    files = [root] if root.is_file() else None
    for ex in exercises:
        if root.is_dir():
            if locate(ex, root).is_file():
                found[ex.id] = root
                continue
            files = files if files is not None else _scan(root)
            named = [p for p in files if p.name in (ex.filename, f"{ex.module}.ipynb")]
            if named:
                found[ex.id] = named[0]
    if files is None:
        return found
    claimed = {name for ex in catalog.exercises() for name in (ex.filename, f"{ex.module}.ipynb")}
    candidates = [p for p in files if p == root or p.name not in claimed]
    names = {p: _defined_names(p) for p in candidates}
    for ex in exercises:
        if ex.id in found or not ex.api:
            continue
        api = {e.name for e in ex.api}
        best = max(candidates, key=lambda p: len(api & names[p]), default=None)
        if best is not None and 2 * len(api & names[best]) >= len(api):
            found[ex.id] = best
    return found


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Task:
    student: str
    exercise: str  # exercise id
    path: str  # what to grade: a file or folder
    root: str  # the student's root, replaced by `label` in what the scorecard shows
    label: str
    problem: str = ""


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise BatchError(f"--shard wants i/N with 1 ≤ i ≤ N (e.g. 2/4), not {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(students: list[str], index: int, count: int) -> set[str]:
    """Students are dealt round-robin in sorted order: shard i gets positions i-1, i-1+N..."""
    return {s for position, s in enumerate(sorted(students)) if position % count == index - 1}


def plan(students: list[Student], exercise_ids: list[str] | None = None) -> list[Task]:
    """Every student × the exercises they attempt (or `exercise_ids` for everyone).

    A student in whom nothing is recognised is graded on every exercise the class
    attempted, so their scorecards say what is wrong instead of leaving a gap.
    """
    every = catalog.exercises()
    chosen = [catalog.get(e) for e in exercise_ids] if exercise_ids else None
    detected = {s.id: ({} if s.problem else detect(s.root, chosen or every)) for s in students}
    if chosen:
        wanted = [ex.id for ex in chosen]
    else:
        wanted = (sorted({e for found in detected.values() for e in found})
                  or [ex.id for ex in every])
    tasks = []
    for s in students:
        found = detected[s.id]
        ids = wanted if chosen or not found else sorted(found)
        for eid in ids:
            path = found.get(eid, s.root)
            tasks.append(Task(s.id, eid, str(path), str(s.root), s.label, s.problem))
    return tasks


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
    """A scorecard for a task the grader could not finish; it scores 0."""
    try:
        title = catalog.get(task.exercise).title
    except catalog.UnknownExercise:
        title = task.exercise
    return Scorecard(task.exercise, title, task.label, [], grader.__version__,
                     problem=problem).stamp()


def grade_task(task: Task, zygote, limits: Limits) -> Scorecard:
    """Grade one task in this process; never raises for a bad submission."""
    from grader.grading import grade

    try:
        card = grade(catalog.get(task.exercise), Path(task.path), zygote=zygote, limits=limits)
    except Exception as exc:  # a grader bug must cost this task only
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return problem_card(task, f"grader problem (not the student's fault): "
                                  f"{type(exc).__name__}: {first}")
    if task.problem:  # e.g. the zip could not be unpacked: say so rather than "file missing"
        card.problem = task.problem
    return _relabel(card, task.root, task.label).stamp()


def _worker_main(conn, limits: Limits, inherited: tuple[int, ...] = (),
                 preload: tuple[str, ...] = ()) -> None:
    """A grading process: one Zygote (warming the `preload` probe modules), tasks from
    `conn` until None, SIGTERM or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    for fd in inherited:  # the parent's ends of every pipe, copied by fork: EOF must reach us
        try:
            os.close(fd)
        except OSError:
            pass
    stopping = []

    def stop(*_):
        stopping.append(True)
        raise KeyboardInterrupt  # Zygote.run kills its worker on the way out

    signal.signal(signal.SIGTERM, stop)
    from grader.worker.client import Zygote

    zygote = Zygote().spawn(preload=preload)  # it boots while this process imports torch
    try:
        from grader import checks

        checks.warm()
        zygote.start()
        conn.send("ready")
        while not stopping:
            task = conn.recv()
            if task is None:
                return
            card = grade_task(task, zygote, limits)
            if stopping:  # pytest may have swallowed the interrupt: the card is partial
                return
            conn.send(card.to_dict())
    except (KeyboardInterrupt, EOFError, BrokenPipeError, ConnectionResetError):
        pass
    finally:
        zygote.close()


# ------------------------------------------------------------------ writing results


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def card_path(out: Path, student: str, exercise: str) -> Path:
    return out / "scorecards" / student / f"{exercise}.json"


def write_card(out: Path, student: str, card: Scorecard) -> None:
    """The Markdown first, the JSON last: a JSON file means this task is done."""
    from grader.render import json_format

    path = card_path(out, student, card.exercise)
    _write_atomic(path.with_suffix(".md"), markdown.render(card))
    _write_atomic(path, json_format.render(card))


def is_done(out: Path, task: Task) -> bool:
    path = card_path(out, task.student, task.exercise)
    try:
        return json.loads(path.read_text()).get("exercise") == task.exercise
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------ progress


class PlainProgress:
    """One line per finished task, for logs and pipes."""

    def __init__(self, total: int, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stdout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, task: Task, card: Scorecard) -> None:
        self.done += 1
        tail = f" — {card.problem}" if card.problem else ""
        print(f"[{self.done}/{self.total}] {task.student} {task.exercise}: "
              f"{card.score:g}/{card.max_score:g}{tail}", file=self.stream, flush=True)


class RichProgress:
    """A bar with done/total, rate and time left, for a terminal."""

    def __init__(self, total: int):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                return Text(f"{task.speed:.2f}/s" if task.speed else "–/s", style="cyan")

        self.progress = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                                 Rate(), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), TextColumn("{task.description}"))
        self.task = self.progress.add_task("", total=total)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def advance(self, task: Task, card: Scorecard) -> None:
        self.progress.update(self.task, advance=1, description=f"{task.student} {card.score:g}/"
                             f"{card.max_score:g}")


def make_progress(total: int, stream=None):
    stream = stream or sys.stdout
    return RichProgress(total) if stream.isatty() else PlainProgress(total, stream)


# ------------------------------------------------------------------ the pool


@dataclass
class _Slot:
    proc: multiprocessing.Process
    conn: multiprocessing.connection.Connection
    ready: bool = False
    task: Task | None = None
    started: float = 0.0


def task_deadline(limits: Limits) -> float:
    """Wall time after which the parent stops a grading process: far beyond the limits."""
    return 3 * limits.submission_seconds + 10 * limits.probe_seconds + 60


def grade_tasks(tasks: list[Task], on_done: Callable[[Task, Scorecard], None], *,
                jobs: int, limits: Limits) -> None:
    """Grade `tasks` over `jobs` processes, calling `on_done` in this process as each ends.

    KeyboardInterrupt propagates after the processes are stopped.
    """
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pending = deque(tasks)
    preload = tuple(sorted({str(catalog.get(t.exercise).probes_path) for t in tasks
                            if t.exercise in {ex.id for ex in catalog.exercises()}}))
    slots: list[_Slot] = []
    deadline = task_deadline(limits)
    failed_starts = 0

    def spawn() -> None:
        ours, theirs = ctx.Pipe()
        inherited = (tuple(c.fileno() for c in [ours, *(s.conn for s in slots)])
                     if ctx.get_start_method() == "fork" else ())
        proc = ctx.Process(target=_worker_main, args=(theirs, limits, inherited, preload), daemon=True,
                           name="grader-batch")
        proc.start()
        theirs.close()
        slots.append(_Slot(proc, ours))

    def retire(slot: _Slot, problem: str | None) -> None:
        nonlocal failed_starts
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
                raise BatchError("the grading processes fail to start (see the errors above)")
            busy = sum(1 for s in slots if s.task)
            while len(slots) < min(jobs, busy + len(pending)):
                spawn()
            for s in slots:
                if s.ready and s.task is None and pending:
                    s.task, s.started = pending.popleft(), time.monotonic()
                    s.conn.send(s.task)
            waitables = [s.conn for s in slots] + [s.proc.sentinel for s in slots]
            ready = multiprocessing.connection.wait(waitables, timeout=1.0)
            now = time.monotonic()
            for s in list(slots):
                if s.conn in ready:
                    try:
                        msg = s.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg == "ready":
                        s.ready = True
                    elif isinstance(msg, dict) and s.task is not None:
                        task, s.task = s.task, None
                        on_done(task, Scorecard.from_dict(msg))
                    elif msg is None:
                        retire(s, "the grading process died while grading this submission")
                        continue
                if s.proc.sentinel in ready and not s.conn.poll():
                    code = s.proc.exitcode
                    retire(s, f"the grading process died (exit code {code}) while grading "
                              "this submission")
                elif s.task is not None and now - s.started > deadline:
                    retire(s, f"grading took longer than {deadline:g} s and was stopped")
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


# ------------------------------------------------------------------ the batch


@dataclass
class BatchResult:
    out: Path
    total: int  # tasks in this run (this shard)
    graded: int  # graded in this run
    skipped: int  # already done (--resume)
    interrupted: bool = False
    wall_s: float = 0.0
    students: int = 0
    reports: dict = field(default_factory=dict)


def run_batch(submissions: Path, out: Path, *, exercises: list[str] | None = None,
              jobs: int | None = None, resume: bool = False, shard: str | None = None,
              limits: Limits = Limits(), progress: Callable[[int], object] | None = None,
              ) -> BatchResult:
    """Grade every submission × exercise in `submissions` into `out`. See the module doc."""
    start = time.monotonic()
    out = Path(out)
    existing = list((out / "scorecards").glob("*/*.json")) if (out / "scorecards").is_dir() else []
    if existing and not resume:
        raise BatchError(f"{out} already holds {len(existing)} scorecards; pass --resume to "
                         "finish that batch, or choose an empty --out folder")
    jobs = max(1, jobs or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        students = discover(Path(submissions), Path(tmp).resolve(), exclude=out.resolve())
        if not students:
            raise BatchError(f"no submissions in {submissions} (expected one folder, zip, "
                             ".py or .ipynb per student)")
        tasks = plan(students, exercises)
        if shard:
            index, count = parse_shard(shard)
            mine = shard_of([s.id for s in students], index, count)
            tasks = [t for t in tasks if t.student in mine]
        todo = [t for t in tasks if not (resume and is_done(out, t))]
        out.mkdir(parents=True, exist_ok=True)
        result = BatchResult(out, len(tasks), 0, len(tasks) - len(todo),
                             students=len({t.student for t in tasks}))
        bar = (progress or make_progress)(len(todo))

        def done(task: Task, card: Scorecard) -> None:
            write_card(out, task.student, card)
            result.graded += 1
            bar.advance(task, card)

        try:
            with bar:
                grade_tasks(todo, done, jobs=jobs, limits=limits)
        except KeyboardInterrupt:
            result.interrupted = True
    result.reports = write_reports(out)
    result.wall_s = time.monotonic() - start
    return result


def merge(outputs: list[Path], out: Path) -> dict:
    """Combine shard outputs into `out`: their scorecards, then fresh reports."""
    out = Path(out)
    seen: dict[Path, Path] = {}
    for source in outputs:
        folder = Path(source) / "scorecards"
        if not folder.is_dir():
            raise BatchError(f"{source} holds no scorecards/ folder (is it a batch output?)")
        for card in sorted(folder.glob("*/*.json")):
            rel = card.relative_to(folder)
            if rel in seen and seen[rel].read_bytes() != card.read_bytes():
                raise BatchError(f"{rel} differs between {seen[rel].parent.parent.parent} and "
                                 f"{source}; grade that student in one shard only")
            seen[rel] = card
            target = out / "scorecards" / rel
            if target.resolve() != card.resolve():
                md = card.with_suffix(".md")
                if md.is_file():
                    _write_atomic(target.with_suffix(".md"), md.read_text(encoding="utf-8"))
                _write_atomic(target, card.read_text(encoding="utf-8"))
    return write_reports(out)


# ------------------------------------------------------------------ reports


def load_cards(out: Path) -> dict[str, dict[str, Scorecard]]:
    """student → exercise id → scorecard, from `out/scorecards/`."""
    cards: dict[str, dict[str, Scorecard]] = {}
    for path in sorted((Path(out) / "scorecards").glob("*/*.json")):
        try:
            card = Scorecard.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        cards.setdefault(path.parent.name, {})[card.exercise] = card
    return cards


def histogram(cards: dict[str, dict[str, Scorecard]], max_total: float, path: Path) -> bool:
    """A PNG of total scores, when matplotlib is installed (the `plot` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return False
    totals = [sum(c.score for c in per.values()) for per in cards.values()]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(totals, bins=min(20, max(5, len(set(totals)))), range=(0, max_total or None),
            color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"total score (of {gradebook.num(max_total)})")
    ax.set_ylabel("students")
    ax.set_title(f"{len(totals)} students")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_reports(out: Path) -> dict:
    """gradebook.csv, summary.json, summary.md (and histogram.png) from the scorecards."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cards = load_cards(out)
    summary = gradebook.summarize(cards)
    _write_atomic(out / "gradebook.csv", gradebook.gradebook_csv(cards, summary))
    _write_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(out / "summary.md", gradebook.summary_markdown(summary))
    if cards:
        histogram(cards, summary["total"].get("max_score", 0.0), out / "histogram.png")
    return summary
