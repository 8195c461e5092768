"""Notebooks: build one per exercise (README + stub) and extract a submission's API from one.

Extraction keeps the top-level imports, functions, classes and literal constants of every
code cell, in order, and drops the rest (experiments, plots, prints, shell and magic
lines), so a notebook grades like the module file it defines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from grader.catalog import Exercise

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(ValueError):
    """A notebook that cannot be graded; the message is one line for the student."""


def _is_constant(node: ast.stmt) -> bool:
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return True


def _cell_code(source: str) -> str:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def extract(path: Path, exercise: Exercise) -> str:
    """The module source a notebook defines; `NotebookError` if it cannot be read."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises many types for junk input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path.name} is not a readable Jupyter notebook ({reason[:120]})") from None
    parts = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        code = _cell_code(cell.get("source", ""))
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise NotebookError(f"{path.name}: code cell {number} has a syntax error at line "
                                f"{exc.lineno}: {exc.msg}") from None
        lines = code.splitlines()
        for node in tree.body:
            if isinstance(node, KEPT) or _is_constant(node):
                start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
                parts.append("\n".join(lines[start - 1 : node.end_lineno]))
    if not parts:
        raise NotebookError(f"{path.name} defines nothing for {exercise.filename} "
                            "(no imports, functions or classes in its code cells)")
    return "\n\n\n".join(parts) + "\n"


def build(exercise: Exercise, course_root: Path) -> nbformat.NotebookNode:
    """A student notebook: the README as a markdown cell, the stub as a code cell."""
    folder = exercise.exercise_dir(course_root)
    readme = (folder / "README.md").read_text()
    stub = (folder / exercise.filename).read_text()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(readme),
        nbformat.v4.new_code_cell(stub),
        nbformat.v4.new_markdown_cell("Try your code below; only imports, functions, classes and "
                                      f"constants above are graded (`grade {exercise.short_id} "
                                      f"{exercise.module}.ipynb`)."),
        nbformat.v4.new_code_cell(""),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb
