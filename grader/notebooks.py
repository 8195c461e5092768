"""Notebooks: build one per exercise (README + stub + grading cell) and extract a
submission's API from one.

Extraction keeps the top-level imports, functions, classes and literal constants of every
code cell, in order, and drops the rest (experiments, plots, prints, shell and magic
lines), so a notebook grades like the module file it defines. A cell is named in messages
by its execution count when it has one (`In [5]`, as Jupyter shows it), else by its
position among the code cells. In-kernel grading (`%grade`) is in `notebook_magic`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from grader.catalog import Exercise
from grader.submission import caret

if TYPE_CHECKING:  # nbformat (with jsonschema, 0.1 s) is imported where a notebook is read or built
    import nbformat

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(ValueError):
    """A notebook that cannot be graded; the message is one line for the student, `detail`
    (e.g. the line of a syntax error and a caret) may follow it."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def _is_constant(node: ast.stmt) -> bool:
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return True


def _cell_code(source: str) -> str:
    """The cell without its magic and shell lines (blanked, so line numbers stay the cell's)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def code_cells(path: Path) -> list[tuple[str, str]]:
    """(label, code) of each code cell of the notebook at `path`: the label as messages name the
    cell (`In [5]`, else `code cell 3`), the code without magic and shell lines;
    `NotebookError` if it cannot be read."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises many types for junk input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{path.name} is not a readable Jupyter notebook ({reason[:120]})") from None
    cells = []
    for number, cell in enumerate((c for c in nb.cells if c.get("cell_type") == "code"), start=1):
        count = cell.get("execution_count")
        cells.append((f"In [{count}]" if isinstance(count, int) else f"code cell {number}",
                      _cell_code(cell.get("source", ""))))
    return cells


def extract_lines(path: Path, exercise: Exercise) -> tuple[str, list]:
    """The module source a notebook defines and, for each of its lines, the cell and the
    line in that cell it came from (`["In [5]", 2]`, or None for a line added between
    cells); `NotebookError` if it cannot be read."""
    parts, where = [], []
    for label, code in code_cells(path):
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise NotebookError(f"{path.name}: {'cell ' * label.startswith('In')}{label} has a syntax "
                                f"error at line {exc.lineno}: {exc.msg}", caret(exc, code)) from None
        lines = code.splitlines()
        for node in tree.body:
            if isinstance(node, KEPT) or _is_constant(node):
                start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
                if parts:
                    where += [None, None]
                parts.append("\n".join(lines[start - 1 : node.end_lineno]))
                where += [[label, n] for n in range(start, node.end_lineno + 1)]
    if not parts:
        raise NotebookError(f"{path.name} defines nothing for {exercise.filename} "
                            "(no imports, functions or classes in its code cells)")
    return "\n\n\n".join(parts) + "\n", where


def grading_cell(exercise: Exercise) -> str:
    """The code cell that grades the notebook from inside it."""
    return f"%load_ext grader\n%grade {exercise.short_id}"


def build(exercise: Exercise) -> nbformat.NotebookNode:
    """A student notebook from the exercise's README and untouched stub (as its course ships
    them, never a student's copy), ending with the grading cell."""
    import nbformat

    readme = (exercise.stub_path.parent / "README.md").read_text()
    stub = exercise.stub_path.read_text()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(readme),
        nbformat.v4.new_markdown_cell(f"Write your code in this notebook: the cell below holds "
                                      f"`{exercise.filename}`'s stub. Only top-level imports, "
                                      "functions, classes and constants are graded; experiments, "
                                      "plots and prints are left out."),
        nbformat.v4.new_code_cell(stub),
        nbformat.v4.new_code_cell("# Try your code here."),
        nbformat.v4.new_markdown_cell("Run the cells above, then this one to grade them; it grades "
                                      "what the cells you ran define, in a separate process. In "
                                      "Colab, first install the grader in a cell of its own "
                                      "(`!pip install ...`, as your course says). From a shell: "
                                      f"`grade {exercise.short_id} {exercise.module}.ipynb`."),
        nbformat.v4.new_code_cell(grading_cell(exercise)),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb
