"""Grade a notebook from inside it: `%load_ext grader` then `%grade exercise03`, or in plain
Python `from grader.notebook_magic import grade; grade("exercise03")`.

What is graded is the code the notebook defines now: the cells run so far, as the kernel
keeps them in IPython's input history (`In`, which Jupyter, JupyterLab, VS Code and Colab
all keep; no notebook file or save is needed), extracted by the same rules as a `.ipynb`
submission (see `notebooks`). A cell run twice counts as it was run last, since a later
definition replaces an earlier one; a cell with a syntax error is left out, as Python left
it out when it ran. The cells are written to a temporary notebook and graded by a separate
`grade ... --format json` process with its sandboxed workers, never inside this kernel,
whose state the student's cells control. Only the standard library is imported here
until a card is shown.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ANSWER_SECONDS = 600.0  # a `grade` run: start-up plus the submission's time budget


class Graded:
    """The result of `grade()`: shown as the HTML scorecard in a notebook, as text elsewhere."""

    def __init__(self, card=None, error: str = "", notes: tuple[str, ...] = ()):
        self.card, self.error, self.notes = card, error, tuple(notes)

    @property
    def score(self) -> float:
        return self.card.score if self.card else 0.0

    @property
    def max_score(self) -> float:
        return self.card.max_score if self.card else 0.0

    def _repr_html_(self) -> str:
        import html

        from grader.render import html_card

        notes = "".join(f'<div style="opacity:.75">{html.escape(n)}</div>' for n in self.notes)
        if self.card is None:
            return (f'<div style="color:#cf222e;font-weight:600">grading did not run: '
                    f"{html.escape(self.error)}</div>{notes}")
        return html_card.render(self.card) + notes

    def __repr__(self) -> str:
        from grader.render import terminal

        text = terminal.render(self.card, color=False) if self.card else f"grading did not run: {self.error}\n"
        return text + "".join(f"{n}\n" for n in self.notes)


def kernel_cells(shell) -> list[tuple[int, str]]:
    """(execution count, code) of every cell this IPython kernel has run, in order, as
    IPython transformed them (magics become `get_ipython()` calls)."""
    history = shell.history_manager.input_hist_parsed
    return [(n, code) for n, code in enumerate(history) if n and code.strip()]


def runnable(cells: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[str]]:
    """The cells that parse as Python, and a note for each one left out."""
    kept, notes = [], []
    for count, code in cells:
        try:
            ast.parse(code)
        except SyntaxError as exc:
            notes.append(f"In [{count}] was left out: it has a syntax error at line {exc.lineno} "
                         "(Python ran none of it either); fix it and run it again")
            continue
        kept.append((count, code))
    return kept, notes


def _notebook_name(shell) -> str:
    """The notebook's file name where the front end says it (Jupyter Server, VS Code)."""
    for found in (os.environ.get("JPY_SESSION_NAME"), shell.user_ns.get("__vsc_ipynb_file__")):
        if isinstance(found, str) and found.endswith(".ipynb"):
            return Path(found).name
    return "notebook.ipynb"


def grade_cells(exercise: str, cells: list[tuple[int, str]], name: str = "notebook.ipynb",
                timeout: float = ANSWER_SECONDS) -> Graded:
    """Grade these (execution count, code) cells as the notebook `name`, in a `grade` process."""
    import nbformat

    cells, notes = runnable(cells)
    env = dict(os.environ)
    env.setdefault("GRADER_SERVER", "on")  # repeated %grade runs skip torch's start-up
    with tempfile.TemporaryDirectory(prefix="grader-notebook-") as tmp:
        path = Path(tmp) / name
        nb = nbformat.v4.new_notebook()
        for count, code in cells:
            cell = nbformat.v4.new_code_cell(code)
            cell.execution_count = count
            nb.cells.append(cell)
        nbformat.write(nb, str(path))
        try:
            done = subprocess.run([sys.executable, "-m", "grader", exercise, str(path), "--format", "json"],
                                  capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Graded(error=f"`grade {exercise}` took longer than {timeout:g} s", notes=notes)
    from grader.scorecard import Scorecard

    try:
        card = Scorecard.from_dict(json.loads(done.stdout))
    except (ValueError, KeyError, TypeError):
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return Graded(error=lines[-1] if lines else f"`grade` exited with status {done.returncode}",
                      notes=notes)
    card.submission = name
    if card.grader_error:
        notes.append("grading failed on the grader's side, not yours; show this to your teacher")
    return Graded(card, notes=notes)


def grade(exercise: str) -> Graded:
    """Grade what this notebook's cells define now for `exercise` (e.g. "exercise03")."""
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None or not hasattr(shell, "history_manager"):
        return Graded(error="grade() reads the cells of a running notebook; outside one, "
                            f"run `grade {exercise} FILE` in a shell")
    return grade_cells(exercise, kernel_cells(shell), _notebook_name(shell))


def _magic(line: str):
    """%grade exercise03: grade the cells run so far (see grader.notebook_magic)."""
    words = line.split()
    if len(words) != 1:
        return Graded(error="usage: %grade exercise03")
    return grade(words[0])


def load_ipython_extension(ipython) -> None:
    """`%load_ext grader`: registers the `%grade` line magic."""
    ipython.register_magic_function(_magic, "line", "grade")
