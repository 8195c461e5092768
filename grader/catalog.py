"""Courses and their exercises, discovered from the hidden suites' folders.

A course is a folder of three parts: `suites/exerciseNN_slug/` (hidden checks),
`solutions/exerciseNN_slug/` (teacher only) and `exercises/exerciseNN_slug/` (student
files), plus `packs/` (reference packs) and, for a teacher's course, `course.toml`. The
built-in 18 exercises are one course, loaded the same way (their suites and packs live
in this package). A teacher's course is chosen with `--course DIR`, `GRADER_COURSE=DIR`,
the nearest folder upwards holding `course.toml`, or an installed package that registers
it under the entry-point group `pytorch_grader.courses`; its exercises join the built-in
ones, and where a number is in both (exercise03_...), the course's wins.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader import settings
from grader.api import ApiEntry, parse
from grader.errors import BadInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
SUITES_DIR = PACKAGE_DIR / "suites"  # the built-in course's suites (and the helpers they share)
PROJECT_ROOT = PACKAGE_DIR.parent
COURSE_FILE = "course.toml"
ENTRY_POINTS = "pytorch_grader.courses"
ID_PATTERN = re.compile(r"exercise(\d\d)_([a-z0-9_]+)")


class UnknownExercise(LookupError):
    """No exercise has that id."""
    pass


class CourseError(BadInput):
    """A course folder that cannot be used (no course.toml, unreadable, bad suite)."""


@dataclass(frozen=True)
class Course:
    """Where a course's hidden suites, solutions, student files and reference packs are."""
    title: str
    suites_dir: Path
    solutions_dir: Path
    exercises_dir: Path
    packs_dir: Path
    root: Path | None = None  # the folder holding course.toml; None for the built-in course

    @property
    def builtin(self) -> bool:
        return self.root is None


def builtin_course() -> Course:
    """The 18 built-in exercises: suites and packs in this package; the student files shipped
    inside it as grader/exercises (or the checkout's exercises/); solutions only in a
    checkout or at $GRADER_SOLUTIONS."""
    installed = PACKAGE_DIR / "exercises"
    solutions = settings.path("GRADER_SOLUTIONS", PROJECT_ROOT / "solutions").resolve()
    return Course("PyTorch exercises (built in)", SUITES_DIR, solutions,
                  installed if installed.is_dir() else PROJECT_ROOT / "exercises", PACKAGE_DIR / "packs")


def load_course(root: Path) -> Course:
    """The teacher's course in `root` (a folder holding course.toml)."""
    root = Path(root).resolve()
    try:
        meta = tomllib.loads((root / COURSE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{root} is not a course: it has no {COURSE_FILE}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"{root / COURSE_FILE} cannot be read: {exc}") from None
    return Course(str(meta.get("title", root.name)), root / "suites", root / "solutions",
                  root / "exercises", root / "packs", root)


@dataclass(frozen=True)
class Exercise:
    """One exercise of a course: its ids, title, the module a student edits and its API."""
    id: str  # exercise03_training_loop
    number: int
    title: str
    module: str  # training_loop (the file a student edits is training_loop.py)
    api: tuple[ApiEntry, ...]
    course: Course

    @property
    def short_id(self) -> str:
        return f"exercise{self.number:02d}"

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def suite_dir(self) -> Path:
        return self.course.suites_dir / self.id

    @property
    def probes_path(self) -> Path:
        return self.suite_dir / "probes.py"

    @property
    def solution_path(self) -> Path:
        return self.course.solutions_dir / self.id / self.filename

    @property
    def stub_path(self) -> Path:
        return self.course.exercises_dir / self.id / self.filename

    @property
    def pack_path(self) -> Path:
        return self.course.packs_dir / f"{self.id}.pt"

    def exercise_dir(self, course_root: Path) -> Path:
        return course_root / "exercises" / self.id


def _suite_meta(folder: Path, course: Course):
    """The suite's __init__.py (TITLE, MODULE, API), imported from its file."""
    if course.builtin:
        return importlib.import_module(f"grader.suites.{folder.name}")
    name = f"grader_course_{abs(hash(str(course.root)))}_{folder.name}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CourseError(f"the suite {folder} cannot be loaded: {type(exc).__name__}: {exc}") from None
        sys.modules[name] = module
    return sys.modules[name]


@cache
def probes_module(exercise: Exercise):
    """The exercise's probes module as the trusted side imports it (grader code, never the
    submission's): where the checks find what each probe declares it returns."""
    return importlib.import_module(_suite_meta(exercise.suite_dir, exercise.course).__name__ + ".probes")


@cache
def course_exercises(course: Course) -> tuple[Exercise, ...]:
    """The exercises whose suites `course` holds, by number."""
    found = []
    if not course.suites_dir.is_dir():
        return ()
    for folder in sorted(course.suites_dir.iterdir()):
        match = ID_PATTERN.fullmatch(folder.name)
        if not match or not (folder / "__init__.py").exists():
            continue
        meta = _suite_meta(folder, course)
        try:
            api = tuple(parse(s) for s in meta.API)
            found.append(Exercise(folder.name, int(match.group(1)), meta.TITLE, meta.MODULE, api, course))
        except (AttributeError, ValueError, SyntaxError) as exc:
            raise CourseError(f"{folder / '__init__.py'} must define TITLE, MODULE and API: {exc}") from None
    return tuple(found)


def _installed_courses() -> list[Course]:
    """Courses that installed packages register: entry point value = a module whose folder
    is the course root."""
    courses = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
        spec = importlib.util.find_spec(entry.value)
        if spec and spec.origin:
            courses.append(load_course(Path(spec.origin).parent))
    return courses


def selected_course(start: Path | None = None) -> Course | None:
    """The teacher's course in use: $GRADER_COURSE, else the nearest folder from `start`
    (the current folder) upwards holding course.toml; None when there is none."""
    chosen = settings.raw("GRADER_COURSE")
    if chosen:
        return load_course(Path(chosen))
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_FILE).is_file():
            return load_course(folder)
    return None


def select(root: Path | None) -> None:
    """Use the course in `root` from now on, in this process and the ones it starts."""
    if root is not None:
        load_course(root)  # fails early, with one line, when it is not a course
        os.environ["GRADER_COURSE"] = str(Path(root).resolve())


def courses() -> list[Course]:
    """Every course whose exercises are available, built-in first, later ones winning."""
    found = [builtin_course(), *_installed_courses()]
    chosen = selected_course()
    if chosen is not None and chosen not in found:
        found.append(chosen)
    return found


def exercises() -> tuple[Exercise, ...]:
    """Every exercise in use: the built-in ones, each replaced by a course's exercise of the same number."""
    by_number = {}
    for course in courses():
        for ex in course_exercises(course):
            by_number[ex.number] = ex  # exercise03_x of a course replaces exercise03_y
    return tuple(by_number[n] for n in sorted(by_number))


def get(name: str) -> Exercise:
    """Accepts `exercise03_training_loop`, `exercise03`, `03` or `3`."""
    key = name.strip().lower()
    if key.isdigit():
        key = f"exercise{int(key):02d}"
    for ex in exercises():
        if key in (ex.id, ex.short_id):
            return ex
    valid = ", ".join(ex.short_id for ex in exercises())
    raise UnknownExercise(f"unknown exercise {name!r}; valid ids: {valid}")


def solutions_root() -> Path:
    """Where the built-in course's reference solutions are (absent from an installed grader,
    which compares against its reference packs)."""
    return builtin_course().solutions_dir


def builtin_exercises_dir() -> Path:
    """The built-in course's student files (shipped in the package, or the checkout's exercises/)."""
    return builtin_course().exercises_dir


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder (from `start` upwards) holding `exercises/`, else the built-in
    course's own folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder
    return builtin_exercises_dir().parent
