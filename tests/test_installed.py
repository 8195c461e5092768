"""End to end, as users get the grader: a wheel of this checkout installed (not editable)
into a fresh venv, run from folders with no solutions and no checkout in reach — a
student's course repository and Gradescope's /autograder (moved to a temporary root)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from grader import catalog, course
from grader.worker import sandbox

pytestmark = pytest.mark.xdist_group("installed")  # one wheel and venv per test process

EX = catalog.get("exercise03")
MISTAKE = EX.solution_path.parent / "mistakes" / "no_zero_grad.py"
TORCH = f"torch=={torch.__version__.split('+')[0]}"


def _env(home: Path, **extra) -> dict:
    """What a user's shell has: no GRADER_* settings of ours, no PYTHONPATH into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GRADER_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    return {**env, "HOME": str(home), "GRADER_SERVER": "off", **extra}


def _run(cmd, cwd: Path, env: dict, ok=(0,), timeout=600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode in ok, f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return course.build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh venv with torch and the grader's wheel, as `pip install` gives a student."""
    root = tmp_path_factory.mktemp("student-venv")
    env = _env(root)
    _run([sys.executable, "-m", "venv", root / "venv"], root, env)
    _run([root / "venv/bin/pip", "install", "--quiet", TORCH, wheel], root, env)
    return root / "venv"


def test_wheel_builds_without_packaging_warnings(tmp_path, caplog):
    """Students installing from git see the build's output: setuptools has nothing to warn of
    (its scan for data files would flag each suite and exercise folder)."""
    caplog.set_level("DEBUG", logger="grader.course")
    course.build_wheel(tmp_path)
    assert "pip wheel's output" in caplog.text
    assert "Warning:" not in caplog.text  # a Python warning's "…Warning: message" line


def _grade(venv: Path, args: list, cwd: Path, ok=(0,)) -> dict:
    """`grade ... --format json` in `cwd`; the card."""
    proc = _run([venv / "bin/grade", *args, "--format", "json"], cwd, _env(cwd), ok)
    return json.loads(proc.stdout)


def test_wheel_ships_suites_packs_and_exercises_never_solutions(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "solutions" in n or "/mistakes/" in n or "/alternatives/" in n]
    for ex in catalog.exercises():
        assert f"grader/packs/{ex.id}.pt" in names
        assert f"grader/suites/{ex.id}/test_hidden.py" in names
        assert f"grader/exercises/{ex.id}/{ex.filename}" in names


def test_student_course_grades_from_the_reference_pack(venv, tmp_path):
    """init-course → a course repository; in it the stub gets 0, a correct solution full
    marks, a realistic mistake loses points, all sandboxed where bwrap works."""
    grade = venv / "bin/grade"
    _run([grade, "init-course", tmp_path / "course", "--exercise", EX.short_id], tmp_path, _env(tmp_path))
    module = tmp_path / "course" / "exercises" / EX.id / EX.filename
    stub = _grade(venv, [EX.short_id], module.parent)
    assert stub["score"] == 0 and stub["max_score"] > 0 and not stub["grader_error"]
    assert stub["sandboxed"] == sandbox.available()

    shutil.copy(EX.solution_path, module)
    full = _grade(venv, [EX.short_id], tmp_path / "course")
    assert full["score"] == full["max_score"], [c["message"] for c in full["checks"] if c["status"] != "passed"]
    assert not full["grader_error"] and full["sandboxed"] == sandbox.available()

    shutil.copy(MISTAKE, module)
    mistaken = _grade(venv, [EX.short_id], tmp_path / "course")
    assert 0 < mistaken["score"] < mistaken["max_score"] and not mistaken["grader_error"]
    assert any("never cleared" in c["message"] for c in mistaken["checks"])


def test_installed_grader_sees_no_solutions(venv, tmp_path):
    code = ("from grader import catalog; import sys; "
            "sys.exit(any(ex.solution_path.exists() for ex in catalog.exercises()))")
    _run([venv / "bin/python", "-c", code], tmp_path, _env(tmp_path))
    assert not list(venv.rglob("solutions"))


@pytest.mark.skipif(not sandbox.available(), reason="bubblewrap cannot create namespaces here")
def test_doctor_proves_the_sandbox_from_an_install(venv, tmp_path):
    proc = _run([venv / "bin/grade", "doctor"], tmp_path, _env(tmp_path))
    assert "FAIL" not in proc.stdout


def test_gradescope_bundle_runs_as_gradescope_does(tmp_path):
    """The zip unpacked at an /autograder-shaped root: setup.sh, then run_autograder on a
    correct, a mistaken and a junk submission."""
    root = tmp_path / "autograder"
    bundle = course.gradescope_bundle(EX.short_id, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    env = _env(tmp_path, AUTOGRADER_ROOT=str(root), TORCH_INDEX_URL="")
    _run(["bash", root / "source/setup.sh"], tmp_path, env)
    shutil.copy(root / "source/run_autograder", root / "run_autograder")

    def results(source: Path | bytes) -> dict:
        submission = root / "submission"
        shutil.rmtree(submission, ignore_errors=True)
        submission.mkdir()
        target = submission / "my_homework.py"
        target.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
        proc = _run([root / "run_autograder"], tmp_path, env)
        assert proc.stdout == ""  # Gradescope shows stdout to instructors only
        return json.loads((root / "results/results.json").read_text())

    correct = results(EX.solution_path)
    max_score = sum(t["max_score"] for t in correct["tests"])
    assert correct["score"] == max_score > 0
    assert not correct["extra_data"]["grader_error"]
    mistaken = results(MISTAKE)
    assert 0 < mistaken["score"] < max_score
    junk = results(b"\x00\x01binary junk")
    assert junk["score"] == 0 and "Problem:" in junk["output"]


def test_classroom50_autograder_as_the_runner_runs_it(venv, wheel, tmp_path):
    """The generated autograder.py, run as Classroom 50's runner does (its environment, the
    student's checkout as working directory) on a correct, a mistaken and a junk submission,
    and on a grader fault."""
    from tests.test_classroom50 import ENV, validate

    _run([venv / "bin/grade", "init-course", tmp_path / "course", "--exercise", EX.short_id,
          "--grader", wheel], tmp_path, _env(tmp_path))
    autograder = tmp_path / "course-classroom50" / "autograder.py"
    checkout = tmp_path / "course"
    module = checkout / "exercises" / EX.id / EX.filename

    def submit(source: Path | bytes, **extra) -> tuple[dict | None, str]:
        module.write_bytes(source if isinstance(source, bytes) else source.read_bytes())
        for name in ("result.json", "release-body.md"):
            (checkout / name).unlink(missing_ok=True)
        output = tmp_path / "github_output"
        output.write_text("")
        env = _env(tmp_path, **ENV, CLASSROOM50_BUNDLE_DIR=str(tmp_path), TORCH_INDEX_URL="",
                   GITHUB_OUTPUT=str(output), **extra)
        _run([venv / "bin/python", autograder], checkout, env)  # exit 0 whenever it ran
        result = checkout / "result.json"
        return (validate(result.read_text(), ENV) if result.exists() else None), output.read_text()

    correct, out = submit(EX.solution_path)
    assert correct["score"] == correct["max-score"] > 0 and "status=success" in out
    assert "✅" in (checkout / "release-body.md").read_text()
    mistaken, out = submit(MISTAKE)
    assert 0 < mistaken["score"] < mistaken["max-score"] and "status=failure" in out
    assert "never cleared" in (checkout / "release-body.md").read_text()
    junk, out = submit(b"\x00\x01binary junk")
    assert junk["score"] == 0 and "status=failure" in out
    _, out = submit(EX.solution_path, GRADER_REFERENCES="live")  # no solutions: a grader fault
    assert "status=error" in out and "grader's side" in out


def test_teachers_course_published_as_a_package(venv, tmp_path):
    """A course made with `grade new`, its packs recorded, published without solutions as
    an entry-point package: installed next to the grader, `grade exercise19` works in the
    students' repository."""
    grade = venv / "bin/grade"
    env = _env(tmp_path)
    source = tmp_path / "teacher"
    _run([grade, "new", "exercise19_tuning", "--course", source], tmp_path, env)
    _run([grade, "references", "build", "--course", source], tmp_path,
         _env(tmp_path, GRADER_REFERENCES="live"))
    package = tmp_path / "pkg" / "dl101_course"
    package.mkdir(parents=True)
    for part in ("course.toml", "exercises", "suites", "packs"):
        (shutil.copytree if (source / part).is_dir() else shutil.copy)(source / part, package / part)
    (package / "__init__.py").write_text("")
    (package.parent / "pyproject.toml").write_text(
        '[project]\nname = "dl101-course"\nversion = "1.0"\n'
        '[project.entry-points."pytorch_grader.courses"]\ndl101 = "dl101_course"\n'
        '[tool.setuptools]\npackages = ["dl101_course"]\n'
        '[tool.setuptools.package-data]\n'
        'dl101_course = ["course.toml", "exercises/*/*", "suites/*/*", "packs/*"]\n')
    _run([venv / "bin/pip", "install", "--quiet", "--no-build-isolation", package.parent], tmp_path, env)
    assert not list((venv / "lib").rglob("dl101_course/solutions"))

    _run([grade, "init-course", tmp_path / "students", "--exercise", "exercise19"], tmp_path, env)
    module = tmp_path / "students/exercises/exercise19_tuning/tuning.py"
    assert _grade(venv, ["exercise19"], module.parent)["score"] == 0
    shutil.copy(source / "solutions/exercise19_tuning/tuning.py", module)
    card = _grade(venv, ["exercise19"], tmp_path / "students")
    assert card["score"] == card["max_score"] > 0 and not card["grader_error"]
    assert card["sandboxed"] == sandbox.available()
