"""Grade a whole class: every submission × exercise, in parallel, into a results folder.

    SUBMISSIONS/                      OUT/
      alice/        (a folder,          plan.json         shard i/N of which planned tasks
      bob.zip        a zip,             gradebook.csv     one row per student
      carol.ipynb    or one file)       summary.md/.json  distributions, problems, mistakes
                                        report.html       the class report, offline
                                        histogram.png     total scores (when matplotlib is there)
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
on disk and the plan, so `--resume`, shards and `merge` give the same gradebook as one run.
Which planned tasks finished is never recorded: a scorecard on disk is a finished task.
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import grader
from grader import catalog
from grader.render import gradebook, markdown, report_html
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


PLAN_FILE = "plan.json"


def reference_fingerprint() -> str:
    """Names the reference results the checks compare against ('' until the pack has one)."""
    return ""


@dataclass
class Plan:
    """What a batch output is meant to hold: the whole run's planned tasks (student →
    exercise ids), which shard of it this folder grades, and what grades it.

    plan.json also lists the whole run's exercises and this shard's students, for people;
    they are derived from `tasks` and never read back.
    """

    tasks: dict[str, list[str]]
    shard: tuple[int, int] = (1, 1)
    grader_version: str = grader.__version__
    reference: str = field(default_factory=reference_fingerprint)
    gaps: list[str] = field(default_factory=list)  # what a merge with --allow-partial accepted

    @classmethod
    def of(cls, tasks: list[Task], shard: tuple[int, int]) -> "Plan":
        planned: dict[str, list[str]] = {}
        for t in tasks:
            planned.setdefault(t.student, []).append(t.exercise)
        return cls({s: sorted(planned[s]) for s in sorted(planned)}, shard)

    @property
    def students(self) -> list[str]:
        """This shard's students."""
        return sorted(shard_of(list(self.tasks), *self.shard))

    def shard_tasks(self) -> list[tuple[str, str]]:
        """This shard's planned (student, exercise) tasks."""
        return [(s, e) for s in self.students for e in self.tasks[s]]

    def difference(self, other: "Plan") -> str:
        """The first way `other` is a different plan from this one, in words, or ''."""
        if self.shard != other.shard:
            return f"shard {other.shard[0]}/{other.shard[1]}, not {self.shard[0]}/{self.shard[1]}"
        if self.tasks != other.tasks:
            return "other students or exercises"
        if self.grader_version != other.grader_version:
            return f"grader {other.grader_version}, not {self.grader_version}"
        if self.reference != other.reference:
            return (f"reference results {other.reference or '(none)'}, "
                    f"not {self.reference or '(none)'}")
        return ""

    def to_json(self) -> str:
        data = {"schema_version": 1, "shard": f"{self.shard[0]}/{self.shard[1]}",
                "grader_version": self.grader_version, "reference_fingerprint": self.reference,
                "exercises": sorted({e for ids in self.tasks.values() for e in ids}),
                "students": self.students, "tasks": self.tasks}
        if self.gaps:
            data["gaps"] = self.gaps
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def read_plan(out: Path) -> Plan | None:
    """The plan of the batch output `out`, or None where it has none (an older output)."""
    try:
        data = json.loads((Path(out) / PLAN_FILE).read_text(encoding="utf-8"))
        return Plan({s: list(ids) for s, ids in data["tasks"].items()},
                    parse_shard(data["shard"]), data["grader_version"],
                    data["reference_fingerprint"], list(data.get("gaps", [])))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, BatchError):
        return None


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


def is_done(out: Path, student: str, exercise: str) -> bool:
    """`out` holds the scorecard of this task."""
    path = card_path(out, student, exercise)
    try:
        return json.loads(path.read_text()).get("exercise") == exercise
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------ progress


class PlainProgress:
    """One line per finished task, for logs and pipes; when none has finished for `QUIET_S`
    seconds, a line naming the submissions in flight and how long each has run."""

    QUIET_S = 30.0

    def __init__(self, total: int, done: int = 0, stream=None):
        self.total, self.done, self.stream = total, done, stream or sys.stdout
        self.started: dict[Task, float] = {}  # in flight → when it started (monotonic)
        self.quiet_since = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def in_flight(self) -> list[str]:
        """'student exercise (N s)' for each task in flight, longest running first."""
        now = time.monotonic()
        started = self.started.copy()  # a display thread may read while the pool writes
        return [f"{t.student} {t.exercise} ({now - since:.0f} s)"
                for t, since in sorted(started.items(), key=lambda kv: kv[1])]

    def start(self, task: Task) -> None:
        self.started[task] = time.monotonic()

    def advance(self, task: Task, card: Scorecard) -> None:
        self.started.pop(task, None)
        self.done += 1
        self.quiet_since = time.monotonic()
        tail = f" — {card.problem}" if card.problem else ""
        print(f"[{self.done}/{self.total}] {task.student} {task.exercise}: "
              f"{card.score:g}/{card.max_score:g}{tail}", file=self.stream, flush=True)

    def poll(self) -> None:
        if self.started and time.monotonic() - self.quiet_since >= self.QUIET_S:
            self.quiet_since = time.monotonic()
            print(f"[{self.done}/{self.total}] still grading: {', '.join(self.in_flight())}",
                  file=self.stream, flush=True)


class RichProgress(PlainProgress):
    """A bar with done/total, rate and time left, and under it the submissions in flight
    with how long each has run, for a terminal."""

    def __init__(self, total: int, done: int = 0, console=None):
        super().__init__(total, done)
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):
                return Text(f"{task.speed:.2f}/s" if task.speed else "–/s", style="cyan")

        bar = self

        class Live(Progress):
            def get_renderables(self):
                yield self.make_tasks_table(self.tasks)
                for line in bar.in_flight():
                    yield Text(f"  grading {line}", style="dim")

        self.progress = Live(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                             Rate(), TimeElapsedColumn(), TextColumn("ETA"),
                             TimeRemainingColumn(), console=console)
        self.task = self.progress.add_task("", total=total, completed=done)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def advance(self, task: Task, card: Scorecard) -> None:
        self.started.pop(task, None)
        self.done += 1
        self.progress.update(self.task, advance=1)

    def poll(self) -> None:
        """Nothing to do: the display refreshes itself."""


def make_progress(total: int, done: int = 0, stream=None):
    stream = stream or sys.stdout
    return RichProgress(total, done) if stream.isatty() else PlainProgress(total, done, stream)


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
                jobs: int, limits: Limits, on_start: Callable[[Task], None] = lambda task: None,
                on_wait: Callable[[], None] = lambda: None) -> None:
    """Grade `tasks` over `jobs` processes, calling in this process `on_start` as each is
    handed out, `on_done` as each ends, and `on_wait` at least once a second.

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


def usable_cpus() -> int:
    """The CPUs this process may run on (a scheduler's binding included), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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
              limits: Limits = Limits(), progress: Callable[[int, int], object] | None = None,
              ) -> BatchResult:
    """Grade every submission × exercise in `submissions` into `out`. See the module doc.

    `progress(total, done)` makes the display; `--resume` refuses a plan that differs from
    the one `out` records.
    """
    start = time.monotonic()
    out = Path(out)
    existing = list((out / "scorecards").glob("*/*.json")) if (out / "scorecards").is_dir() else []
    if existing and not resume:
        raise BatchError(f"{out} already holds {len(existing)} scorecards; pass --resume to "
                         "finish that batch, or choose an empty --out folder")
    jobs = max(1, jobs or usable_cpus())
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        students = discover(Path(submissions), Path(tmp).resolve(), exclude=out.resolve())
        if not students:
            raise BatchError(f"no submissions in {submissions} (expected one folder, zip, "
                             ".py or .ipynb per student)")
        tasks = plan(students, exercises)
        planned = Plan.of(tasks, parse_shard(shard) if shard else (1, 1))
        recorded = read_plan(out) if resume else None
        if recorded and (diff := recorded.difference(planned)):
            raise BatchError(f"--resume: this run is not the one planned in {out / PLAN_FILE} "
                             f"({diff}); choose an empty --out folder for it")
        mine = set(planned.students)
        tasks = [t for t in tasks if t.student in mine]
        todo = [t for t in tasks if not (resume and is_done(out, t.student, t.exercise))]
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / PLAN_FILE, planned.to_json())
        result = BatchResult(out, len(tasks), 0, len(tasks) - len(todo), students=len(mine))
        bar = (progress or make_progress)(len(tasks), len(tasks) - len(todo))

        def done(task: Task, card: Scorecard) -> None:
            write_card(out, task.student, card)
            result.graded += 1
            bar.advance(task, card)

        try:
            with bar:
                grade_tasks(todo, done, jobs=jobs, limits=limits, on_start=bar.start,
                            on_wait=bar.poll)
        except KeyboardInterrupt:
            result.interrupted = True
    result.reports = write_reports(out)
    result.wall_s = time.monotonic() - start
    return result


class MergeRefused(BatchError):
    """The folders are not every shard of one plan, each complete; `gaps` says how."""

    def __init__(self, gaps: list[str]):
        super().__init__(f"{len(gaps)} gaps in the shards to merge")
        self.gaps = gaps


def merge_gaps(outputs: list[Path]) -> tuple[list[str], Plan | None]:
    """One line per way `outputs` fall short of being every shard of one plan, each with all
    its planned scorecards; and the plan of the whole run they share (the first found), None
    when none has a plan."""
    gaps: list[str] = []
    plans: list[tuple[Path, Plan]] = []
    for source in outputs:
        if (found := read_plan(source)) is None:
            gaps.append(f"{source}: no readable {PLAN_FILE} (not a batch output, or one made by "
                        "an older grader); grade that shard again")
        else:
            plans.append((source, found))
    if not plans:
        return gaps, None
    first_source, first = plans[0]
    count = first.shard[1]
    shards: dict[int, list[Path]] = {}
    for source, p in plans:
        if p.shard[1] != count:
            gaps.append(f"{source} is not a shard of the same run as {first_source}: split in "
                        f"{p.shard[1]} shards, not {count}")
            continue
        shards.setdefault(p.shard[0], []).append(source)
        if diff := first.difference(replace(p, shard=first.shard)):
            gaps.append(f"{source} is not a shard of the same run as {first_source}: {diff}")
            continue
        gaps += [f"{source}: no scorecard for {s} × {e}" for s, e in p.shard_tasks()
                 if not is_done(source, s, e)]
    for index in range(1, count + 1):
        given = shards.get(index, [])
        if not given:
            students = sorted(shard_of(list(first.tasks), index, count))
            gaps.append(f"shard {index}/{count} is missing ({len(students)} students: "
                        f"{', '.join(students[:5])}{', ...' if len(students) > 5 else ''})")
        elif len(given) > 1:
            gaps.append(f"shard {index}/{count} is given {len(given)} times: "
                        f"{', '.join(map(str, given))}")
    folders: dict[str, list[Path]] = {}
    for source in outputs:
        held = {p.parent.name for p in (Path(source) / "scorecards").glob("*/*.json")}
        for student in sorted(held):
            folders.setdefault(student, []).append(source)
    gaps += [f"{student} is in more than one shard: {', '.join(map(str, given))}"
             for student, given in sorted(folders.items()) if len(given) > 1]
    tasks: dict[str, list[str]] = {}
    for _, p in plans:
        tasks = {**p.tasks, **tasks}
    return gaps, Plan(dict(sorted(tasks.items())), (1, 1), first.grader_version, first.reference)


def merge(outputs: list[Path], out: Path, *, allow_partial: bool = False) -> dict:
    """Combine the shard outputs into `out`: their scorecards, the run's plan, fresh reports.

    Raises MergeRefused unless `outputs` are every shard of one plan, each complete; with
    `allow_partial` merges anyway (a student in two shards: the first folder given wins)
    and the reports mark the gaps.
    """
    out = Path(out)
    gaps, whole = merge_gaps([Path(o) for o in outputs])
    if gaps and not allow_partial:
        raise MergeRefused(gaps)
    copied: set[Path] = set()
    for source in outputs:
        folder = Path(source) / "scorecards"
        for card in sorted(folder.glob("*/*.json")):
            rel = card.relative_to(folder)
            target = out / "scorecards" / rel
            if rel not in copied and target.resolve() != card.resolve():
                md = card.with_suffix(".md")
                if md.is_file():
                    _write_atomic(target.with_suffix(".md"), md.read_text(encoding="utf-8"))
                _write_atomic(target, card.read_text(encoding="utf-8"))
            copied.add(rel)
    whole = whole or Plan({s: sorted(per) for s, per in sorted(load_cards(out).items())})
    whole.gaps = gaps
    _write_atomic(out / PLAN_FILE, whole.to_json())
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


def histogram_figure(summary: dict):
    """A bar chart of the class's total scores in the summary's bins, or None without
    matplotlib (the `plot` extra) or scores."""
    total = summary["total"]
    if not total.get("count"):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except Exception:
        return None
    people = gradebook.people
    labels, counts = list(total["distribution"]), list(total["distribution"].values())
    fig, ax = plt.subplots(figsize=(7, 3.8))
    bars = ax.bar(range(len(labels)), counts, color="#4c72b0", edgecolor="white")
    ax.bar_label(bars, labels=[str(c) if c else "" for c in counts])
    ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(counts) + 1)
    ax.set_xlabel(f"total score, as a share of {people(total['max_score'])} points")
    ax.set_ylabel("students")
    ax.set_title(f"{total['count']} students: mean {people(total['mean'])}, median "
                 f"{people(total['median'])} of {people(total['max_score'])}")
    fig.tight_layout()
    return fig


def class_view(out: Path) -> tuple[dict[str, dict[str, Scorecard]], dict]:
    """The scorecards in `out` and their summary, with the planned ones that are missing."""
    cards = load_cards(out)
    planned = read_plan(out)
    tasks = planned.shard_tasks() if planned else []
    missing = [(s, e) for s, e in tasks if e not in cards.get(s, {})]
    return cards, gradebook.summarize(cards, missing, planned.gaps if planned else [])


def write_report(out: Path, path: Path) -> dict:
    """The HTML class report of the batch output `out`, written to `path`."""
    cards, summary = class_view(Path(out))
    _write_atomic(Path(path), report_html.render(cards, summary))
    return summary


def write_reports(out: Path) -> dict:
    """gradebook.csv, summary.json, summary.md, report.html (and histogram.png) from the
    scorecards and the plan."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cards, summary = class_view(out)
    _write_atomic(out / "gradebook.csv", gradebook.gradebook_csv(cards, summary))
    _write_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(out / "summary.md", gradebook.summary_markdown(summary))
    _write_atomic(out / "report.html", report_html.render(cards, summary))
    if (fig := histogram_figure(summary)) is not None:
        import matplotlib.pyplot as plt

        fig.savefig(out / "histogram.png", dpi=120)
        plt.close(fig)
    return summary
