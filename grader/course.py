"""What a teacher hands out: the student course repository and the Gradescope autograder zip.

`init_course` copies only the student-facing files of each exercise (README, stub, public
tests; never solutions/ or the hidden suites) and writes a GitHub Classroom workflow that
grades each exercise with `grade` and reports per-check points through
classroom-resources/autograding-grading-reporter@v1 (see FORMATS.md).

`gradescope_bundle` writes the zip Gradescope builds its image from: `setup.sh` installs
torch (CPU) and the grader from the copy inside the zip, `run_autograder` grades
/autograder/submission and writes /autograder/results/results.json.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

from grader import catalog

SKIP = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
DEFAULT_INSTALL = 'pip install "pytorch-grader @ git+https://github.com/ORG/grader"'
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


class CourseError(Exception):
    pass


def _student_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not SKIP & set(p.relative_to(folder).parts) and p.suffix != ".pyc")


def _exercises_source() -> Path:
    source = catalog.PROJECT_ROOT / "exercises"
    if not source.is_dir():
        raise CourseError(f"the exercises/ folder is not at {source}; run this from the grader's "
                          "source checkout (pip install -e .)")
    return source


def workflow(exercises: list[catalog.Exercise], install: str = DEFAULT_INSTALL,
             python: str = "3.11") -> str:
    """.github/workflows/classroom.yml: one grading step per exercise, then the reporter."""
    steps = []
    for ex in exercises:
        steps.append(f"""\
      - name: {json.dumps(f"{ex.short_id} — {ex.title}", ensure_ascii=False)}
        id: {ex.short_id}
        timeout-minutes: 10
        run: |
          grade {ex.short_id} --format markdown --classroom-output "$GITHUB_OUTPUT" >> "$GITHUB_STEP_SUMMARY"
""")
    env = "\n".join(f'          {ex.short_id.upper()}_RESULTS: '
                    f'"${{{{ steps.{ex.short_id}.outputs.result }}}}"' for ex in exercises)
    runners = ",".join(ex.short_id for ex in exercises)
    return f"""\
# Written by `grade init-course`. Grades every exercise on each push and reports the points
# to GitHub Classroom. Each grading step appends the Markdown scorecard to the run's summary
# and hands the reporter a base64 result with one test per check (partial credit).
name: Autograding Tests
"on":
  - push
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    env:
      # The reference solutions the grader compares against; see "Install the grader".
      GRADER_SOLUTIONS: ${{{{ github.workspace }}}}/.grader/solutions
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      # TEACHER: edit the two steps below. The grader needs its hidden suites and the
      # reference solutions, so keep it in a private repository and give this workflow a
      # read-only token as an organisation secret (GRADER_TOKEN).
      - name: Fetch the grader
        uses: actions/checkout@v4
        with:
          repository: ORG/grader
          token: ${{{{ secrets.GRADER_TOKEN }}}}
          path: .grader
      - name: Install the grader
        run: |
          python -m pip install --upgrade pip
          pip install torch --index-url {TORCH_INDEX}
          pip install ./.grader
          # or, with the solutions elsewhere: {install}
      - name: Sandbox for student code
        run: |
          # Without bubblewrap a submission could read the reference solutions checked out
          # above. Ubuntu 24.04 runners forbid the user namespaces bwrap needs until the
          # sysctl below allows them.
          sudo apt-get install -y -q bubblewrap
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
          grade doctor
{"".join(steps)}      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def student_readme(exercises: list[catalog.Exercise], course: str) -> str:
    rows = "\n".join(f"| `{ex.short_id}` | {ex.title} | `exercises/{ex.id}/{ex.filename}` |"
                     for ex in exercises)
    first = exercises[0]
    return f"""\
# {course}

Each exercise lives in `exercises/<exercise>/`: read its `README.md`, fill in the TODOs of
the stub, and check your work.

| id | exercise | the file you edit |
| --- | --- | --- |
{rows}

## Check your work

Install once (your teacher gives you the exact line for the grader):

```
pip install torch --index-url {TORCH_INDEX}
{DEFAULT_INSTALL}
```

Then, for example:

```
pytest exercises/{first.id}
grade {first.short_id}
```

The public tests (`pytest`) are quick sanity checks. `grade` runs the graded checks and
tells you, for each one, its points and what is wrong. Each push also runs the workflow in
`.github/workflows/classroom.yml`: its summary page shows your scorecard, and your points
go to GitHub Classroom.

Prefer notebooks? `grade notebook {first.short_id}` writes one, and
`grade {first.short_id} {first.module}.ipynb` grades it. Please do not edit the workflow or
the public tests.
"""


def _write(path: Path, text: str, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def init_course(dest: Path, *, exercise_ids: list[str] | None = None,
                course: str = "PyTorch course", install: str = DEFAULT_INSTALL,
                python: str = "3.11", force: bool = False) -> list[Path]:
    """Write the student course repository into `dest`; returns the files written."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise CourseError(f"{dest} is not empty; choose a new folder (or pass --force)")
    source = _exercises_source()
    exercises = ([catalog.get(e) for e in exercise_ids] if exercise_ids
                 else list(catalog.exercises()))
    exercises = [ex for ex in exercises if (source / ex.id).is_dir()]
    if not exercises:
        raise CourseError(f"no exercise folders found in {source}")
    forbidden = {catalog.SUITES_DIR.resolve(), (catalog.PROJECT_ROOT / "solutions").resolve()}
    written = []
    for ex in exercises:
        folder = source / ex.id
        for path in _student_files(folder):
            if any(parent in forbidden for parent in path.resolve().parents):
                continue
            target = dest / "exercises" / ex.id / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(target)
    files = {
        dest / "README.md": student_readme(exercises, course),
        dest / ".github" / "workflows" / "classroom.yml": workflow(exercises, install, python),
        dest / ".gitignore": "__pycache__/\n*.pyc\n.pytest_cache/\n.ipynb_checkpoints/\n.grader/\n",
    }
    for path, text in files.items():
        _write(path, text)
        written.append(path)
    return written


# ------------------------------------------------------------------ Gradescope


def _torch_requirement() -> str:
    return f"torch=={importlib.metadata.version('torch').split('+')[0]}"


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
set -euxo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install "{torch}" --index-url {index}
/autograder/venv/bin/pip install /autograder/source/grader-src
# Compute the reference results once, into the image, so each submission only runs its own.
export GRADER_SOLUTIONS=/autograder/source/grader-src/solutions GRADER_CACHE_DIR=/autograder/cache
/autograder/venv/bin/grade {exercise} "$GRADER_SOLUTIONS/{exercise_id}/{filename}" --format json > /dev/null
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write results.json.
set -uo pipefail
export GRADER_SOLUTIONS=/autograder/source/grader-src/solutions GRADER_CACHE_DIR=/autograder/cache
mkdir -p /autograder/results
cd /autograder/submission
if /autograder/venv/bin/grade {exercise} /autograder/submission --format gradescope \\
        > /autograder/results/results.json.tmp 2> /autograder/results/grader-stderr.txt; then
    mv /autograder/results/results.json.tmp /autograder/results/results.json
else
    cat /autograder/results/grader-stderr.txt
    /autograder/venv/bin/python - <<'EOF'
import json, pathlib
err = pathlib.Path("/autograder/results/grader-stderr.txt").read_text(errors="replace").strip()
pathlib.Path("/autograder/results/results.json").write_text(json.dumps({{
    "score": 0, "output": "The autograder could not grade this submission: " + (err[-500:] or "unknown error"),
    "tests": []}}))
EOF
fi
"""


def _source_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) for the grader's own source: enough to `pip install` it."""
    root = catalog.PROJECT_ROOT
    files = [(root / name, name) for name in ("pyproject.toml", "README.md")
             if (root / name).is_file()]
    for path in sorted((root / "grader").rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP & set(rel.parts) and path.suffix != ".pyc":
            files.append((path, rel.as_posix()))
    return files


def gradescope_bundle(exercise_id: str, out: Path) -> Path:
    """Write the Gradescope autograder zip for one exercise to `out`."""
    ex = catalog.get(exercise_id)
    if not ex.solution_path.is_file():
        raise CourseError(f"the reference solution {ex.solution_path} is missing")
    if not (catalog.PROJECT_ROOT / "pyproject.toml").is_file():
        raise CourseError("run this from the grader's source checkout (pip install -e .)")
    fmt = {"exercise": ex.short_id, "exercise_id": ex.id, "filename": ex.filename,
           "torch": _torch_requirement(), "index": TORCH_INDEX}
    entries = [("setup.sh", SETUP_SH.format(**fmt).encode(), 0o755),
               ("run_autograder", RUN_AUTOGRADER.format(**fmt).encode(), 0o755)]
    for path, name in _source_files():
        entries.append((f"grader-src/{name}", path.read_bytes(), 0o644))
    for path in _student_files(ex.solution_path.parent):
        rel = path.relative_to(ex.solution_path.parent).as_posix()
        entries.append((f"grader-src/solutions/{ex.id}/{rel}", path.read_bytes(), 0o644))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, out)
    return out
