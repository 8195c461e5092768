"""The exercises, discovered from the hidden suites' folders (grader/suites/exerciseNN_slug)."""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.api import ApiEntry, parse

PACKAGE_DIR = Path(__file__).resolve().parent
SUITES_DIR = PACKAGE_DIR / "suites"
PACKS_DIR = PACKAGE_DIR / "packs"  # reference packs: <exercise id>.pt (see references.py)
PROJECT_ROOT = PACKAGE_DIR.parent
ID_PATTERN = re.compile(r"exercise(\d\d)_([a-z0-9_]+)")


class UnknownExercise(LookupError):
    pass


@dataclass(frozen=True)
class Exercise:
    id: str  # exercise03_training_loop
    number: int
    title: str
    module: str  # training_loop (the file a student edits is training_loop.py)
    api: tuple[ApiEntry, ...]

    @property
    def short_id(self) -> str:
        return f"exercise{self.number:02d}"

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def suite_dir(self) -> Path:
        return SUITES_DIR / self.id

    @property
    def probes_path(self) -> Path:
        return self.suite_dir / "probes.py"

    @property
    def solution_path(self) -> Path:
        return solutions_root() / self.id / self.filename

    @property
    def pack_path(self) -> Path:
        return PACKS_DIR / f"{self.id}.pt"

    def exercise_dir(self, course_root: Path) -> Path:
        return course_root / "exercises" / self.id


def solutions_root() -> Path:
    """Where the reference solutions are: $GRADER_SOLUTIONS, else solutions/ of a checkout
    (absent from an installed grader, which compares against its reference packs)."""
    return Path(os.environ.get("GRADER_SOLUTIONS", PROJECT_ROOT / "solutions")).resolve()


def builtin_exercises_dir() -> Path:
    """The built-in course's student files (exercises/): shipped inside an installed
    package as grader/exercises, or the checkout's own folder."""
    installed = PACKAGE_DIR / "exercises"
    return installed if installed.is_dir() else PROJECT_ROOT / "exercises"


@cache
def exercises() -> tuple[Exercise, ...]:
    found = []
    for folder in sorted(SUITES_DIR.iterdir()):
        match = ID_PATTERN.fullmatch(folder.name)
        if not match or not (folder / "__init__.py").exists():
            continue
        meta = importlib.import_module(f"grader.suites.{folder.name}")
        found.append(Exercise(folder.name, int(match.group(1)), meta.TITLE, meta.MODULE,
                              tuple(parse(s) for s in meta.API)))
    return tuple(found)


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


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder (from `start` upwards) holding `exercises/`, else the built-in
    course's own folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder
    return builtin_exercises_dir().parent
