"""Batch grading: a class mixing good, stub, junk and hanging submissions; resume; shards."""

import csv
import json
import multiprocessing
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader import batch, catalog
from grader.cli import main
from grader.worker.limits import Limits

EX = catalog.get("exercise01")
SOLUTION = EX.solution_path
STUB = EX.exercise_dir(catalog.PROJECT_ROOT) / EX.filename
LIMITS = Limits(probe_seconds=1.5, submission_seconds=3)
HANG = """\
import time
def gradient(f, x):
    while True:
        pass
def fit_line(x, y, lr=0.1, steps=100):
    time.sleep(1000)
def predict_no_grad(model, x):
    time.sleep(1000)
"""
EXPECTED = {"good": 12, "stub": 0, "junk": 0, "hang": 0, "crash": 0, "noisy": 0, "zipped": 12,
            "badzip": 0, "notebook": 12, "renamed": 12}


def make_class(root: Path) -> Path:
    subs = root / "submissions"
    (subs / "good").mkdir(parents=True)
    shutil.copy(SOLUTION, subs / "good" / EX.filename)
    (subs / "stub").mkdir()
    shutil.copy(STUB, subs / "stub" / EX.filename)
    (subs / "junk.py").write_bytes(bytes(range(256)) * 8)
    (subs / "hang.py").write_text(HANG)
    (subs / "crash.py").write_text("import os\nos._exit(3)\n")
    (subs / "noisy.py").write_text(SOLUTION.read_text() + "\nfor _ in range(400):\n"
                                   "    print('spam' * 250_000)\n")
    with zipfile.ZipFile(subs / "zipped.zip", "w") as zf:  # one folder inside, as zips often are
        zf.write(SOLUTION, f"hw1/{EX.filename}")
    (subs / "badzip.zip").write_bytes(b"PK\x03\x04 not really a zip")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# my work"),
                nbformat.v4.new_code_cell(SOLUTION.read_text()),
                nbformat.v4.new_code_cell("print(gradient(lambda t: t * t, 3.0))")]
    nbformat.write(nb, str(subs / "notebook.ipynb"))
    (subs / "renamed").mkdir()  # a file not named as the README says: found by what it defines
    shutil.copy(SOLUTION, subs / "renamed" / "my_homework.py")
    (subs / "notes.txt").write_text("not a submission")
    return subs


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    return make_class(tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="module")
def full_run(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "results"
    lines = []

    class Collect(batch.PlainProgress):
        def advance(self, task, card):
            lines.append((task.student, card.score))

    result = batch.run_batch(klass, out, jobs=2, limits=LIMITS, progress=Collect)
    return out, result, lines


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_student_is_graded_and_nothing_is_lost(full_run):
    out, result, lines = full_run
    assert not result.interrupted and result.graded == result.total == len(EXPECTED)
    book = gradebook(out)
    assert set(book) == set(EXPECTED)
    assert {s: float(row[EX.id]) for s, row in book.items()} == EXPECTED
    assert {row["max_total"] for row in book.values()} == {"12"}
    assert sorted(s for s, _ in lines) == sorted(EXPECTED)
    assert not multiprocessing.active_children()  # no grading process left behind


def test_each_bad_submission_says_what_is_wrong(full_run):
    out = full_run[0]

    def card(student):
        return json.loads((out / "scorecards" / student / f"{EX.id}.json").read_text())

    assert "not a UTF-8 text file" in card("junk")["problem"]
    assert "badzip.zip is not a readable zip archive" in card("badzip")["problem"]
    hang = card("hang")
    assert {c["status"] for c in hang["checks"]} <= {"timeout", "not-run"}
    assert any("took longer than 1.5 s" in c["message"] for c in hang["checks"])
    assert all(c["message"] for c in card("stub")["checks"])
    assert "crashed" in card("crash")["checks"][0]["message"]
    assert "output" in card("noisy")["checks"][0]["message"]
    # scorecards show paths relative to SUBMISSIONS, never the teacher's or a temp folder
    assert card("good")["submission"] == f"good/{EX.filename}"
    assert card("zipped")["submission"] == f"zipped.zip/{EX.filename}"
    assert card("renamed")["submission"] == "renamed/my_homework.py"
    assert (out / "scorecards" / "good" / f"{EX.id}.md").read_text().startswith("## ✅")


def test_summary_counts_failing_checks_and_messages(full_run):
    out = full_run[0]
    summary = json.loads((out / "summary.json").read_text())
    ex = summary["exercises"][EX.id]
    assert summary["students"] == len(EXPECTED) and ex["count"] == len(EXPECTED)
    assert ex["full_marks"] == 4 and ex["distribution"]["100%"] == 4
    assert ex["distribution"]["0–9%"] == len(EXPECTED) - 4
    assert ex["problems"] >= 2  # junk and badzip could not be run at all (crash, noisy: import)
    failing = {f["check"]: f for f in ex["failing_checks"]}
    assert failing["gradient_values"]["students"] >= 2  # stub and hang at least
    assert {"<student>.py is not a UTF-8 text file (binary data?)",
            "<student>.zip is not a readable zip archive (File is not a zip file)"} <= {
        p["problem"] for p in ex["common_problems"]}
    text = (out / "summary.md").read_text()
    assert "Checks failed most" in text and f"## {EX.id}" in text


def test_results_folder_in_use_needs_resume(full_run, klass):
    with pytest.raises(batch.BatchError, match="--resume"):
        batch.run_batch(klass, full_run[0], jobs=1, limits=LIMITS)


def test_interrupt_keeps_what_is_done(klass, tmp_path):
    out = tmp_path / "results"
    seen = []

    class StopAfterOne(batch.PlainProgress):
        def advance(self, task, card):
            seen.append(task.student)
            raise KeyboardInterrupt

    result = batch.run_batch(klass, out, jobs=2, limits=LIMITS, progress=StopAfterOne)
    assert result.interrupted and result.graded == 1
    assert [p.parent.name for p in (out / "scorecards").glob("*/*.json")] == seen
    assert set(gradebook(out)) == set(seen)
    assert not multiprocessing.active_children()
    assert not list(out.rglob("*.tmp"))


def test_resume_grades_only_what_is_missing(full_run, klass, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(full_run[0], out)
    for student in ("hang", "good", "junk"):
        (out / "scorecards" / student / f"{EX.id}.json").unlink()
    (out / "gradebook.csv").unlink()
    again = batch.run_batch(klass, out, jobs=2, limits=LIMITS, resume=True,
                            progress=batch.PlainProgress)
    assert not again.interrupted and again.skipped == len(EXPECTED) - 3 and again.graded == 3
    for name in ("gradebook.csv", "summary.json", "summary.md"):
        assert (out / name).read_text() == (full_run[0] / name).read_text(), name


def test_shards_merged_equal_one_run(full_run, klass, tmp_path):
    runner = CliRunner()
    parts = []
    for i in (1, 2):
        part = tmp_path / f"shard{i}"
        result = runner.invoke(main, ["batch", str(klass), "--out", str(part), "--shard", f"{i}/2",
                                      "--jobs", "1", "--probe-timeout", "1.5",
                                      "--submission-timeout", "3"])
        assert result.exit_code == 0, result.output
        parts.append(part)
    students = [set(gradebook(p)) for p in parts]
    assert not students[0] & students[1] and students[0] | students[1] == set(EXPECTED)
    assert abs(len(students[0]) - len(students[1])) <= 1
    merged = tmp_path / "merged"
    result = runner.invoke(main, ["merge", *map(str, parts), "--out", str(merged)])
    assert result.exit_code == 0, result.output
    for name in ("gradebook.csv", "summary.json", "summary.md"):
        assert (merged / name).read_text() == (full_run[0] / name).read_text(), name
    assert len(list((merged / "scorecards").glob("*/*.md"))) == len(EXPECTED)


def test_progress_bar_on_a_terminal(full_run):
    card = batch.Scorecard.from_dict(json.loads(next((full_run[0] / "scorecards").glob("*/*.json"))
                                                .read_text()))
    task = batch.Task("alice", EX.id, "x", "x", "x")
    with batch.RichProgress(2) as bar:
        bar.advance(task, card)
    assert bar.progress.tasks[0].completed == 1


def test_histogram_when_matplotlib_is_there(full_run):
    pytest.importorskip("matplotlib")
    assert (full_run[0] / "histogram.png").stat().st_size > 1000


# ---------------------------------------------------------------- finding students (no grading)


def test_shards_partition_the_class_deterministically():
    names = [f"s{i:03d}" for i in range(37)]
    shards = [batch.shard_of(names, i, 4) for i in range(1, 5)]
    assert set().union(*shards) == set(names) and sum(map(len, shards)) == 37
    assert shards == [batch.shard_of(list(reversed(names)), i, 4) for i in range(1, 5)]
    for bad in ("0/2", "3/2", "x", "1-2"):
        with pytest.raises(batch.BatchError):
            batch.parse_shard(bad)


def test_github_classroom_download(tmp_path):
    subs = tmp_path / "hw1-autograd-submissions"
    for login in ("alice", "bob-smith"):
        folder = subs / f"hw1-autograd-{login}" / "exercises" / EX.id
        folder.mkdir(parents=True)
        shutil.copy(STUB, folder / EX.filename)
    (subs / "hw1-autograd-carol").mkdir()  # an empty repository
    students = batch.discover(subs, tmp_path / "unpacked")
    assert [s.id for s in students] == ["alice", "bob-smith", "carol"]
    tasks = batch.plan(students)
    assert [(t.student, t.exercise) for t in tasks] == [
        ("alice", EX.id), ("bob-smith", EX.id), ("carol", EX.id)]


GRADESCOPE_METADATA = """\
---
submission_1001:
  :submitters:
  - :name: Alice Liddell
    :sid: '314159'
    :email: alice@example.edu
  :created_at: 2024-02-01 10:00:00.000000000 -08:00
  :score: 0.0
  :history:
  - :id: 999
    :submitters:
    - :sid: 'old'
submission_1002:
  :submitters:
  - :name: Bob
    :email: bob@example.edu
  - :name: Carol
    :sid: '271828'
  :score: 0.0
"""


def test_gradescope_export(tmp_path):
    subs = tmp_path / "assignment_1_export"
    for n in ("1001", "1002"):
        (subs / f"submission_{n}").mkdir(parents=True)
        shutil.copy(STUB, subs / f"submission_{n}" / EX.filename)
    (subs / "submission_metadata.yml").write_text(GRADESCOPE_METADATA)
    students = batch.discover(subs, tmp_path / "unpacked")
    assert [s.id for s in students] == ["314159", "bob+271828"]
    # the export's zip, as downloaded, works too
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in subs.rglob("*"):
            zf.write(path, path.relative_to(tmp_path))
    students = batch.discover(archive, tmp_path / "unpacked2")
    assert [s.id for s in students] == ["314159", "bob+271828"]


def test_detection_by_name_and_content(tmp_path):
    (tmp_path / "a" / "deep" / "er").mkdir(parents=True)
    shutil.copy(SOLUTION, tmp_path / "a" / "deep" / "er" / EX.filename)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "hw.py").write_text("def fit_line(x, y, lr=0.1, steps=100):\n    pass\n\n"
                                          "def gradient(f, x):\n    pass\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "other.py").write_text("def unrelated():\n    pass\n\n"
                                             "def gradient(f, x):  # 1 of 3 names: not enough\n"
                                             "    pass\n")
    deep = tmp_path / "a" / "deep" / "er" / EX.filename
    assert batch.detect(tmp_path / "a", [EX]) == {EX.id: deep}
    assert batch.detect(tmp_path / "b", [EX]) == {EX.id: tmp_path / "b" / "hw.py"}
    assert batch.detect(tmp_path / "c", [EX]) == {}
    assert batch.detect(tmp_path / "b" / "hw.py", [EX]) == {EX.id: tmp_path / "b" / "hw.py"}


def test_unpack_zip_refuses_escaping_paths(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.py", "x = 1\n")
        zf.writestr("/abs.py", "x = 1\n")
        zf.writestr("ok/fine.py", "x = 1\n")
    assert batch.unpack_zip(archive, tmp_path / "dest") == ""
    assert not (tmp_path / "outside.py").exists()
    dest = tmp_path / "dest"
    assert [p.relative_to(dest).as_posix() for p in dest.rglob("*.py")] == ["ok/fine.py"]


def test_ctrl_c_on_the_command_stops_cleanly(klass, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", str(klass), "--out", str(out), "--jobs", "2",
         "--probe-timeout", "1.5", "--submission-timeout", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stdout:
            if line.startswith("[1/"):
                break
        os.killpg(proc.pid, signal.SIGINT)
        start = time.monotonic()
        rest = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - start < 30
    assert proc.returncode == 130, rest
    assert "--resume" in rest and "Traceback" not in rest
    cards = list((out / "scorecards").glob("*/*.json"))
    assert 1 <= len(cards) < len(EXPECTED)
    assert set(gradebook(out)) == {c.parent.name for c in cards}
    assert not list(out.rglob("*.tmp"))

    def left() -> list[str]:  # processes of that run still there
        ps = subprocess.run(["ps", "-eo", "pgid=,pid=,args="], capture_output=True, text=True)
        return [line for line in ps.stdout.splitlines() if line.split()[0] == str(proc.pid)]

    deadline = time.monotonic() + 10  # a sandbox process may take a moment to follow its parent
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left()
