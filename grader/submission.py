"""Find the file to grade and reject what cannot be imported, without running any of it.

A submission path may be the module file itself, a folder holding it (directly or under
`exercises/<exercise id>/`), or, through `notebooks`, a Jupyter notebook. Checks here only
read and compile the source; compiling runs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.catalog import Exercise

MAX_SOURCE_BYTES = 2 << 20


@dataclass
class Submission:
    """The module file to import in a worker, or the one-line reason it cannot be graded."""

    path: Path
    module_path: Path | None = None
    problem: str = ""


def locate(exercise: Exercise, path: Path) -> Path:
    """The file within `path` that holds the submission for `exercise`."""
    if path.is_dir():
        for candidate in (path / exercise.filename,
                          path / "exercises" / exercise.id / exercise.filename,
                          path / exercise.id / exercise.filename,
                          path / f"{exercise.module}.ipynb",
                          path / "exercises" / exercise.id / f"{exercise.module}.ipynb"):
            if candidate.is_file():
                return candidate
        return path / exercise.filename
    return path


def source_problem(source: bytes, name: str) -> str:
    """One line saying why `source` cannot be a Python module, or '' if it can."""
    if len(source) > MAX_SOURCE_BYTES:
        return f"{name} is {len(source) >> 10} KB; that is too large for a submission"
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return f"{name} is not a UTF-8 text file (binary data?)"
    if "\x00" in text:
        return f"{name} contains NUL bytes; it is not a Python text file"
    if not text.strip():
        return f"{name} is empty"
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "somewhere"
        return f"{name} has a syntax error at {where}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{name} cannot be compiled: {exc}"
    return ""


def prepare(exercise: Exercise, path: Path, workdir: Path) -> Submission:
    """Locate and vet the submission; notebooks are converted into `workdir`."""
    from grader import notebooks

    target = locate(exercise, path)
    if not target.exists():
        where = f" in {path}" if path.is_dir() else ""
        return Submission(target, problem=f"no {exercise.filename} found{where}")
    if target.suffix == ".ipynb":
        try:
            source = notebooks.extract(target, exercise).encode()
        except notebooks.NotebookError as exc:
            return Submission(target, problem=str(exc))
        module_path = workdir / exercise.filename
        module_path.write_bytes(source)
    else:
        module_path = target
        try:
            source = target.read_bytes()
        except OSError as exc:
            return Submission(target, problem=f"cannot read {target.name}: {exc.strerror}")
    problem = source_problem(source, target.name)
    return Submission(target, None if problem else module_path.resolve(), problem)
