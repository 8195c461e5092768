"""The `grade` command line. Parses arguments and calls library functions, nothing else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from grader import __version__, batch, catalog, notebooks
from grader.render import RENDERERS, classroom
from grader.scorecard import Scorecard
from grader.submission import locate
from grader.worker import sandbox
from grader.worker.limits import Limits


class GradeGroup(click.Group):
    """`grade exercise03 [PATH]` is short for `grade exercise exercise03 [PATH]`."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["exercise", *args]
        return super().parse_args(ctx, args)


def _exercise(name: str) -> catalog.Exercise:
    try:
        return catalog.get(name)
    except catalog.UnknownExercise as exc:
        click.echo(f"grade: {exc}", err=True)
        sys.exit(2)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main():
    """Grade PyTorch exercises: `grade exercise03` grades your exercises/ copy."""


def run() -> None:
    """The console script: run a command, then exit without the interpreter's teardown of
    torch and its imports (half a second per `grade`); every command closes its own files."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


@main.command("exercise")
@click.argument("exercise_id")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="terminal",
              show_default=True, help="How to print the scorecard.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scorecard as JSON to this file.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Exit with status 1 when the score is below this percentage.")
@click.option("--classroom-output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append `result=<base64>` for GitHub Classroom's reporter to this file "
                   "(use \"$GITHUB_OUTPUT\").")
def exercise_cmd(exercise_id, path, fmt, out, fail_under, classroom_output):
    """Grade one exercise. PATH: the module file, a notebook, or a folder holding it."""
    ex = _exercise(exercise_id)
    if path is None:
        path = ex.exercise_dir(catalog.find_course_root()) / ex.filename
    if not path.exists():
        click.echo(f"grade: no such file or folder: {path}", err=True)
        sys.exit(2)
    if path.is_dir() and not locate(ex, path).exists():  # e.g. a Gradescope upload named hw1.py
        path = batch.detect(path, [ex]).get(ex.id, path)
    card = _grade_now(ex, path)
    click.echo(RENDERERS[fmt](card), nl=False)
    if out:
        out.write_text(RENDERERS["json"](card))
    if classroom_output:
        with open(classroom_output, "a", encoding="utf-8") as f:
            f.write(classroom.github_output(card))
    if fail_under is not None and card.percent < fail_under:
        sys.exit(1)


def _grade_now(ex: catalog.Exercise, path: Path):
    """Through the warm server when one is up (see `server`); else here, starting the warm
    worker first so that its torch import overlaps this process's own."""
    from grader import server

    use_server = server.enabled()
    card = server.grade(ex, path) if use_server else None
    if card is not None:
        return card
    from grader.worker.client import Zygote

    zygote = Zygote().spawn(preload=(str(ex.probes_path),))
    try:
        from grader.grading import grade

        card = grade(ex, path, zygote=zygote).stamp()
    finally:
        zygote.close()
    if use_server:
        server.start(ex)  # warm for the next run, while the student reads this one
    return card


@main.command("render")
@click.argument("scorecard", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="terminal",
              show_default=True)
def render_cmd(scorecard, fmt):
    """Print a saved JSON scorecard (from --out or a batch) in another format."""
    try:
        card = Scorecard.from_dict(json.loads(scorecard.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        click.echo(f"grade: {scorecard} is not a scorecard JSON file ({exc})", err=True)
        sys.exit(2)
    click.echo(RENDERERS[fmt](card), nl=False)


@main.command("batch")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Results folder: gradebook.csv, summary.md/.json, scorecards/.")
@click.option("--exercise", "exercise_ids", multiple=True, metavar="ID",
              help="Grade these exercises for everyone (repeatable); default: those each "
                   "submission attempts.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Grading processes [default: the number of CPUs].")
@click.option("--resume", is_flag=True,
              help="Keep the scorecards already in --out; grade the rest.")
@click.option("--shard", metavar="i/N", default=None,
              help="Grade only the i-th of N deterministic parts of the class (1 ≤ i ≤ N).")
@click.option("--probe-timeout", type=click.FloatRange(0.1), default=Limits.probe_seconds,
              show_default=True, help="Seconds one probe of a submission may run.")
@click.option("--submission-timeout", type=click.FloatRange(0.1),
              default=Limits.submission_seconds, show_default=True,
              help="Seconds all probes of one submission × exercise may run together.")
def batch_cmd(submissions, out, exercise_ids, jobs, resume, shard, probe_timeout,
              submission_timeout):
    """Grade a class: SUBMISSIONS holds one folder, zip, .py or .ipynb per student.

    Also reads a GitHub Classroom download (gh classroom clone student-repos) and a
    Gradescope export (with its submission_metadata.yml). Ctrl-C stops and keeps what is
    done; run again with --resume to finish.
    """
    for e in exercise_ids:
        _exercise(e)
    limits = Limits(probe_seconds=probe_timeout, submission_seconds=submission_timeout)
    if not sandbox.available():
        click.echo("grade: warning: bubblewrap is not usable here, so submissions run with your "
                   "permissions and could change any file you can, this batch's results included; "
                   "install bubblewrap (see `grade doctor`) before grading a class", err=True)
    try:
        result = batch.run_batch(submissions, out, exercises=list(exercise_ids) or None,
                                 jobs=jobs, resume=resume, shard=shard, limits=limits)
    except batch.BatchError as exc:
        click.echo(f"grade: {exc}", err=True)
        sys.exit(2)
    total = result.reports.get("total", {})
    click.echo(f"{result.graded} graded, {result.skipped} already done, of {result.total} "
               f"({result.students} students) in {result.wall_s:.1f} s; mean total "
               f"{total.get('mean', 0):g}/{total.get('max_score', 0):g}. Results: {out}")
    if result.interrupted:
        click.echo(f"grade: interrupted; {result.total - result.graded - result.skipped} left. "
                   "Run the same command with --resume to finish.", err=True)
        sys.exit(130)


@main.command("merge")
@click.argument("outputs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def merge_cmd(outputs, out):
    """Combine the --out folders of sharded batches into one gradebook and summary."""
    try:
        summary = batch.merge(list(outputs), out)
    except batch.BatchError as exc:
        click.echo(f"grade: {exc}", err=True)
        sys.exit(2)
    click.echo(f"merged {len(outputs)} folders: {summary['students']} students. Results: {out}")


@main.command("init-course")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--exercise", "exercise_ids", multiple=True, metavar="ID",
              help="Only these exercises (repeatable); default: all.")
@click.option("--name", "course", default="PyTorch course", show_default=True,
              help="The course name in the student README.")
@click.option("--python", default="3.11", show_default=True, help="Python version in CI.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def init_course_cmd(dest, exercise_ids, course, python, force):
    """Write the student course repository (exercises, README, Classroom workflow) to DEST."""
    from grader import course as course_mod

    for e in exercise_ids:
        _exercise(e)
    try:
        written = course_mod.init_course(dest, exercise_ids=list(exercise_ids) or None,
                                         course=course, python=python, force=force)
    except course_mod.CourseError as exc:
        click.echo(f"grade: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {len(written)} files to {dest}; edit the two grader steps in "
               f"{dest / '.github/workflows/classroom.yml'} before the first push")


@main.command("gradescope-bundle")
@click.argument("exercise_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The zip to write [default: autograder-<exercise>.zip].")
def gradescope_bundle_cmd(exercise_id, out):
    """Write the Gradescope autograder zip (setup.sh, run_autograder, grader) for one exercise."""
    from grader import course as course_mod

    ex = _exercise(exercise_id)
    out = out or Path(f"autograder-{ex.short_id}.zip")
    try:
        course_mod.gradescope_bundle(ex.id, out)
    except course_mod.CourseError as exc:
        click.echo(f"grade: {exc}", err=True)
        sys.exit(2)
    click.echo(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment")


@main.command("doctor")
def doctor_cmd():
    """Report which protections are active here (sandbox, limits, CUDA) and that workers start."""
    from grader.doctor import report

    rows = report()
    for item, ok, detail in rows:
        click.echo(f"{'ok  ' if ok else 'WARN'}  {item:<20} {detail}")
    if not all(ok for _, ok, _ in rows):
        click.echo("some protections are missing: grading works, with less isolation", err=True)


@main.command("list")
def list_cmd():
    """List the exercises."""
    for ex in catalog.exercises():
        click.echo(f"{ex.short_id}  {ex.id:<32} {ex.title}")


@main.command("notebook")
@click.argument("exercise_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the notebook (default: <module>.ipynb here).")
def notebook_cmd(exercise_id, out):
    """Write a student notebook for an exercise (its README and stub)."""
    ex = _exercise(exercise_id)
    out = out or Path(f"{ex.module}.ipynb")
    notebooks.nbformat.write(notebooks.build(ex, catalog.find_course_root()), str(out))
    click.echo(f"wrote {out}")
