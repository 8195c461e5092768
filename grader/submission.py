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
    detail: str = ""  # e.g. the offending source line with a caret under the column
    lines: list | None = None  # a notebook's: each module line's [cell, line in cell] (notebooks)


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


def caret(exc: SyntaxError, source: str = "") -> str:
    """The line a SyntaxError points at and a `^` under its column, or ''."""
    lines = source.splitlines()
    line = lines[exc.lineno - 1] if exc.lineno and 0 < exc.lineno <= len(lines) else exc.text or ""
    line = line.rstrip("\r\n").expandtabs(4)
    if not line.strip():
        return ""
    indent = len(line) - len(line.lstrip())
    column = max(indent, min((exc.offset or 1) - 1, len(line)))
    return f"    {line[indent:]}\n    {' ' * (column - indent)}^"


def source_problem(source: bytes, name: str) -> tuple[str, str]:
    """Why `source` cannot be a Python module, as (one line, detail), or ('', '') if it can;
    the detail of a syntax error is the offending line with a caret under the column."""
    if len(source) > MAX_SOURCE_BYTES:
        return f"{name} is {len(source) >> 10} KB; that is too large for a submission", ""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return f"{name} is not a UTF-8 text file (binary data?)", ""
    if "\x00" in text:
        return f"{name} contains NUL bytes; it is not a Python text file", ""
    if not text.strip():
        return f"{name} is empty", ""
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "somewhere"
        return f"{name} has a syntax error at {where}: {exc.msg}", caret(exc, text)
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{name} cannot be compiled: {exc}", ""
    return "", ""


def prepare(exercise: Exercise, path: Path, workdir: Path) -> Submission:
    """Locate and vet the submission; notebooks are converted into `workdir`."""
    from grader import notebooks

    target = locate(exercise, path)
    if not target.exists():
        where = f" in {path}" if path.is_dir() else ""
        return Submission(target, problem=f"no {exercise.filename} found{where}")
    if target.suffix == ".ipynb":
        try:
            text, lines = notebooks.extract_lines(target, exercise)
        except notebooks.NotebookError as exc:
            return Submission(target, problem=str(exc), detail=exc.detail)
        source = text.encode()
        module_path = workdir / exercise.filename
        module_path.write_bytes(source)
    else:
        module_path, lines = target, None
        try:
            source = target.read_bytes()
        except OSError as exc:
            return Submission(target, problem=f"cannot read {target.name}: {exc.strerror}")
    problem, detail = source_problem(source, target.name)
    return Submission(target, None if problem else module_path.resolve(), problem, detail, lines)
