"""Which exercises a student's folder attempts, and the file (or folder) that holds each:
by file name where `submission.locate` looks, else anywhere below, then by the API names a
file defines (parsed, never run). `grade exercise03 FOLDER` and batch grading both use it."""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path
from typing import Iterable

from grader import catalog
from grader.notebooks import NotebookError, code_cells
from grader.submission import locate

IGNORED = {"__MACOSX", "__pycache__", "scorecards", ".git", ".venv", "venv", "node_modules",
           ".ipynb_checkpoints", "site-packages"}
MAX_SCAN_FILES = 2000
MAX_SCAN_BYTES = 2 << 20
SCAN_DEPTH = 5


def _defined_names(path: Path) -> set[str]:
    """Top-level function and class names a .py or .ipynb defines (parsed, never run)."""
    try:
        if path.stat().st_size > MAX_SCAN_BYTES:
            return set()
        if path.suffix == ".ipynb":
            sources = [code for _, code in code_cells(path)]
        else:
            sources = [path.read_text(encoding="utf-8")]
    except (OSError, UnicodeDecodeError, NotebookError):
        return set()
    names = set()
    for source in sources:
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


