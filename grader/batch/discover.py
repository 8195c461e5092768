"""Finding the students of SUBMISSIONS/ (folders, zips, single files, GitHub Classroom and
Gradescope exports); which exercises each attempted is `grader.detection`'s."""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.errors import BadInput
from grader.detection import IGNORED

SUFFIXES = (".py", ".ipynb", ".zip")
MAX_UNPACKED_BYTES = 200 << 20
MAX_MEMBERS = 5000
GRADESCOPE_METADATA = "submission_metadata.yml"


class BatchError(BadInput):
    """The batch cannot start or go on (bad arguments, results folder in use...)."""


# ------------------------------------------------------------------ finding the students


@dataclass(frozen=True)
class Student:
    """One student's submission: an id and the files found for it."""
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
