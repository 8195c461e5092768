"""What a teacher hands out: the student course repository and the Gradescope autograder zip.

`init_course` copies only the student-facing files of each exercise (README, stub, public
tests; never solutions/ or the hidden suites) and sets up grading for a platform:
Classroom 50 (an autograder.py for the classroom's configuration), a plain GitHub Actions
workflow, or GitHub Classroom's reporter workflow (sunset in 2026); README.md's "Handing
out the course" walks through each.

`gradescope_bundle` writes the zip Gradescope builds its image from: `setup.sh` installs
torch (CPU) and the grader's wheel inside the zip, `run_autograder` grades
/autograder/submission and writes /autograder/results/results.json.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import logging
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader import __version__ as grader_version
from grader import catalog
from grader.errors import BadInput
from grader.files import write_atomic

log = logging.getLogger(__name__)

SKIP = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
DEFAULT_GRADER = f"pytorch-grader @ git+https://github.com/ORG/grader@v{grader_version}"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_RANGE = "torch>=2.3"  # as pyproject.toml declares it
TEMPLATES = Path(__file__).resolve().parent / "templates"


class CourseError(BadInput):
    """A course or bundle that cannot be written as asked."""


def _student_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not SKIP & set(p.relative_to(folder).parts) and p.suffix != ".pyc")


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _step_name(ex: catalog.Exercise) -> str:
    return json.dumps(f"{ex.short_id} — {ex.title}", ensure_ascii=False)


def github_classroom_workflow(exercises: list[catalog.Exercise], grader: str, python: str) -> str:
    """.github/workflows/classroom.yml for GitHub Classroom (sunset in 2026): one grading step
    per exercise, then classroom-resources/autograding-grading-reporter@v1."""
    steps = "".join(f"""\
      - name: {_step_name(ex)}
        id: {ex.short_id}
        timeout-minutes: 10
        run: |
          grade {ex.short_id} --format markdown --classroom-output "$GITHUB_OUTPUT" >> "$GITHUB_STEP_SUMMARY"
""" for ex in exercises)
    env = "\n".join(f'          {ex.short_id.upper()}_RESULTS: '
                    f'"${{{{ steps.{ex.short_id}.outputs.result }}}}"' for ex in exercises)
    return f"""\
# Written by `grade init-course --platform github-classroom`. GitHub Classroom was sunset in
# 2026; this keeps courses still on it working. Grades every exercise on each push and
# reports the points (one test per check, partial credit) through the reporter action.
name: Autograding Tests
"on":
  push:
  repository_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      - name: Install the grader
        run: |
          pip install torch --index-url {TORCH_INDEX}
          pip install "{grader}"
      - name: Sandbox for student code
        run: |
          sudo apt-get install -y -q bubblewrap
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
          grade doctor
{steps}      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {",".join(ex.short_id for ex in exercises)}
"""


def actions_workflow(exercises: list[catalog.Exercise], grader: str, python: str) -> str:
    """.github/workflows/grade.yml: grades on push, scorecards to the summary and an artifact."""
    steps = "".join(_fill(_template("actions_step.yml"),
                          {"__NAME__": _step_name(ex), "__EXERCISE__": ex.short_id})
                    for ex in exercises)
    return _fill(_template("actions.yml"), {"__PYTHON__": python, "__INDEX__": TORCH_INDEX,
                                            "__GRADER__": grader, "__STEPS__": steps})


def classroom50_autograder(exercises: list[catalog.Exercise], grader: str, course: str) -> str:
    """The classroom's autograder.py: installs the grader, grades the exercise $ASSIGNMENT
    names (its id, short id or number), writes result.json and release-body.md."""
    names = {}
    for ex in exercises:
        for name in (ex.short_id, ex.id, str(ex.number)):
            names[name] = ex.short_id
    mapping = "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in names.items()) + "}"
    return _fill(_template("classroom50_autograder.py.in"),
                 {"__COURSE__": course, "__GRADER__": grader, "__TORCH__": TORCH_RANGE,
                  "__INDEX__": TORCH_INDEX, "__EXERCISES__": mapping})


def classroom50_readme(exercises: list[catalog.Exercise], course: str, python: str) -> str:
    """The README for the classroom's configuration repository."""
    rows = "\n".join(f"| `{ex.short_id}` | {ex.title} | `exercises/{ex.id}/{ex.filename}` |"
                     for ex in exercises)
    return f"""\
# {course}: Classroom 50 autograder

Commit `autograder.py` to your classroom's configuration and make it the default for every
assignment (`gh teacher autograder set-default autograder.py`), or copy it to
`autograders/<assignment>/autograder.py`. Name each assignment after its exercise (the
first column below, e.g. `{exercises[0].short_id}`), hand out the course repository as its
template, and pin the runtime the grader is tested on: `runtime: {{"python": "{python}"}}`.

| assignment | exercise | the file students edit |
| --- | --- | --- |
{rows}

On each submission Classroom 50 runs `python autograder.py` in the student's checkout. It
installs torch (CPU) and the grader pinned at the top of the file (edit `GRADER` to the tag
or wheel you tested), grades, and leaves `result.json` (one test per check, whole points)
and `release-body.md` (the scorecard the student reads). A fault of the grader's is
reported as `status=error`, so that submission waits for a regrade instead of getting a
wrong score. Nothing here is secret: the autograder and its bundle are public, and grading
runs in the student's repository, so they hold no solutions; the grader compares against
its reference packs.
"""


def student_readme(exercises: list[catalog.Exercise], course: str, grader: str,
                   platform: str) -> str:
    """The course repository's README for students."""
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

Install once (CPU torch first; your teacher may give you another line for the grader):

```
pip install torch --index-url {TORCH_INDEX}
pip install "{grader}"
```

Then, for example:

```
pytest exercises/{first.id}
grade {first.short_id}
```

The public tests (`pytest`) are quick sanity checks. `grade` runs the graded checks and
tells you, for each one, its points and what is wrong. {FEEDBACK[platform]}

Prefer notebooks? `grade notebook {first.short_id}` writes one, and
`grade {first.short_id} {first.module}.ipynb` grades it. Please do not edit the public tests.
"""


FEEDBACK = {
    "classroom50": "When you submit, Classroom 50 grades your work the same way; the "
                   "scorecard is on your submission's release page.",
    "actions": "Each push runs `.github/workflows/grade.yml`: its summary page shows your "
               "scorecards.",
    "github-classroom": "Each push runs `.github/workflows/classroom.yml`: its summary page "
                        "shows your scorecard, and your points go to GitHub Classroom.",
}
PLATFORMS = tuple(FEEDBACK)
COURSE_CONFTEST = '''"""Lets each exercise's test_public.py import the module it tests."""

import sys
from pathlib import Path

for folder in sorted(Path(__file__).parent.glob("exercises/exercise*")):
    sys.path.insert(0, str(folder))
'''


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def init_course(dest: Path, *, exercise_ids: list[str] | None = None,
                course: str = "PyTorch course", grader: str = DEFAULT_GRADER,
                python: str = "3.11", platform: str = "classroom50",
                force: bool = False) -> list[Path]:
    """Write the student course repository into `dest`, with `platform`'s grading set-up:
    a workflow inside it (actions, github-classroom), or for classroom50 the teacher's
    autograder in `classroom50_dir(dest)`. Returns the files written."""
    dest = Path(dest)
    if platform not in PLATFORMS:
        raise CourseError(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}")
    config = classroom50_dir(dest)
    for folder in (dest, config) if platform == "classroom50" else (dest,):
        if folder.exists() and any(folder.iterdir()) and not force:
            raise CourseError(f"{folder} is not empty; choose a new folder (or pass --force)")
    exercises = ([catalog.get(e) for e in exercise_ids] if exercise_ids
                 else list(catalog.exercises()))
    exercises = [ex for ex in exercises if ex.stub_path.parent.is_dir()]
    if not exercises:
        raise CourseError("no exercise has its student files here: reinstall the grader")
    forbidden = {p.resolve() for c in catalog.courses() for p in (c.suites_dir, c.solutions_dir)}
    written = []
    for ex in exercises:
        folder = ex.stub_path.parent
        for path in _student_files(folder):
            if any(parent in forbidden for parent in path.resolve().parents):
                continue
            target = dest / "exercises" / ex.id / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written.append(target)
    files = {
        dest / "README.md": student_readme(exercises, course, grader, platform),
        dest / ".gitignore": "__pycache__/\n*.pyc\n.pytest_cache/\n.ipynb_checkpoints/\n"
                             "result.json\nrelease-body.md\nscorecards/\n",
        # a bare `pytest` runs every exercise's test_public.py: importlib mode keeps the
        # same-named files apart, the conftest lets each import its exercise's module
        dest / "pytest.ini": "[pytest]\naddopts = --import-mode=importlib -p no:cacheprovider\n",
        dest / "conftest.py": COURSE_CONFTEST,
    }
    if platform == "github-classroom":
        files[dest / ".github/workflows/classroom.yml"] = github_classroom_workflow(exercises, grader, python)
    elif platform == "actions":
        files[dest / ".github/workflows/grade.yml"] = actions_workflow(exercises, grader, python)
    else:
        files[config / "autograder.py"] = classroom50_autograder(exercises, grader, course)
        files[config / "README.md"] = classroom50_readme(exercises, course, python)
    for path, text in files.items():
        _write(path, text)
        written.append(path)
    return written


def classroom50_dir(dest: Path) -> Path:
    """Where init-course puts what the teacher commits to the Classroom 50 configuration."""
    return Path(dest).parent / f"{Path(dest).name}-classroom50"


# ------------------------------------------------------------------ Gradescope


def _torch_requirement() -> str:
    return f"torch=={importlib.metadata.version('torch').split('+')[0]}"


# Both scripts take their root from AUTOGRADER_ROOT (Gradescope: /autograder, the default)
# and setup.sh the torch index from TORCH_INDEX_URL, so the bundle runs as-is in tests.
SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu, as root).
set -euxo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
TORCH_INDEX_URL="${TORCH_INDEX_URL-__INDEX__}"
if ! command -v bwrap >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --quiet "__TORCH__" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
"$ROOT/venv/bin/pip" install --quiet "$ROOT"/source/__WHEEL__
"$ROOT/venv/bin/grade" doctor
# Warm the reference cache once, into the image, so each submission only runs its own code.
export GRADER_SOLUTIONS="$ROOT/source/solutions" GRADER_CACHE_DIR="$ROOT/cache"
"$ROOT/venv/bin/grade" __EXERCISE__ "$GRADER_SOLUTIONS/__EXERCISE_ID__/__FILENAME__" --format json > /dev/null
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade the submission, write results.json.
# Exit status 3 of `grade` is a grader fault: its results.json already says so.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export GRADER_SOLUTIONS="$ROOT/source/solutions" GRADER_CACHE_DIR="$ROOT/cache"
# Recorded grades use inputs no student has seen (the reference packs are public).
export GRADER_SALT="${GRADER_SALT:-random}"
mkdir -p "$ROOT/results"
cd "$ROOT/submission"
"$ROOT/venv/bin/grade" __EXERCISE__ "$ROOT/submission" --format gradescope \\
    > "$ROOT/results/results.json.tmp" 2> "$ROOT/results/grader-stderr.txt"
status=$?
if [ "$status" -eq 0 ] || [ "$status" -eq 3 ]; then
    mv "$ROOT/results/results.json.tmp" "$ROOT/results/results.json"
else
    "$ROOT/venv/bin/python" - "$ROOT" <<'EOF'
import json, pathlib, sys
results = pathlib.Path(sys.argv[1], "results")
err = (results / "grader-stderr.txt").read_text(errors="replace").strip()
(results / "results.json").write_text(json.dumps({
    "score": 0, "output": "The autograder could not grade this submission (a fault of the "
    "autograder, not of your code; tell your instructor): " + (err[-500:] or "unknown error"),
    "extra_data": {"grader_error": True}, "tests": []}))
EOF
fi
"""


def build_wheel(dest: Path) -> Path:
    """A wheel of the grader's source checkout (hidden suites, reference packs and student
    files inside; never solutions), built from a private copy of what it ships, so that
    builds running at once never share a build/ folder."""
    root = catalog.PROJECT_ROOT
    if not (root / "pyproject.toml").is_file():
        raise CourseError("run this from the grader's source checkout (pip install -e .)")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    with tempfile.TemporaryDirectory(prefix="grader-src-") as tmp:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, tmp)
        for folder in ("grader", "exercises"):
            shutil.copytree(root / folder, Path(tmp) / folder, ignore=ignore)
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                               "--wheel-dir", str(dest), tmp], capture_output=True, text=True)
    wheels = sorted(Path(dest).glob("pytorch_grader-*.whl"))
    log.debug("pip wheel's output: %s", proc.stderr.strip() or "(none)")
    if proc.returncode != 0 or not wheels:
        raise CourseError(f"building the grader's wheel failed: {proc.stderr.strip()[-500:]}")
    return wheels[-1]


def gradescope_bundle(exercise_id: str, out: Path) -> Path:
    """Write the Gradescope autograder zip for one exercise to `out`: the two scripts, the
    grader's wheel, and that exercise's reference solution (the image is private)."""
    ex = catalog.get(exercise_id)
    if not ex.solution_path.is_file():
        raise CourseError(f"the reference solution {ex.solution_path} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        fmt = {"__EXERCISE_ID__": ex.id, "__EXERCISE__": ex.short_id, "__FILENAME__": ex.filename,
               "__TORCH__": _torch_requirement(), "__INDEX__": TORCH_INDEX, "__WHEEL__": wheel.name}
        entries = [(name, _fill(text, fmt).encode(), 0o755)
                   for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER))]
        entries.append((wheel.name, wheel.read_bytes(), 0o644))
    entries.append((f"solutions/{ex.id}/{ex.filename}", ex.solution_path.read_bytes(), 0o644))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    write_atomic(Path(out), buf.getvalue())
    return Path(out)


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text
