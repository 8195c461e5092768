"""The `grade` command line. Parses arguments and calls library functions, nothing else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from grader import __version__, catalog, logs, notebooks, settings
from grader.errors import BadInput
from grader.files import write_atomic
from grader.render import RENDERERS, classroom, classroom50
from grader.scorecard import Scorecard, Status
from grader.detection import detect
from grader.submission import locate
from grader.worker import sandbox
from grader.worker.limits import Limits


GRADER_FAULT = 3  # exit status: grading itself failed (a broken suite, a missing reference)


class GradeGroup(click.Group):
    """`grade exercise03 [PATH]` is short for `grade exercise exercise03 [PATH]`, and
    `--course DIR` may come anywhere (`grade audit --course DIR`), except for `grade new`,
    whose --course is the folder to write."""

    def parse_args(self, ctx, args):
        args = list(args)
        if "new" not in args[:3]:
            for i, arg in enumerate(args[1:], start=1):
                if arg == "--course" and i + 1 < len(args):
                    args = [*args[i:i + 2], *args[:i], *args[i + 2:]]
                    break
                if arg.startswith("--course="):
                    args = [arg, *args[:i], *args[i + 1:]]
                    break
        i = 0
        while i < len(args) and args[i].startswith("-"):  # the group's own options
            i += 2 if args[i] == "--course" else 1
        if i < len(args) and args[i] not in self.commands:
            args = [*args[:i], "exercise", *args[i:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BadInput as exc:  # every module's input error: one line, exit 2
            click.echo(f"grade: {exc}", err=True)
            ctx.exit(2)


def _exercise(name: str) -> catalog.Exercise:
    try:
        return catalog.get(name)
    except catalog.UnknownExercise as exc:
        import difflib

        ids = {key: ex.short_id for ex in catalog.exercises() for key in (ex.short_id, ex.id)}
        close = difflib.get_close_matches(name.strip().lower(), list(ids), n=1, cutoff=0.6)
        message = str(exc)
        if close:
            valid = ", ".join(ex.short_id for ex in catalog.exercises())
            message = f"unknown exercise {name!r}; did you mean {ids[close[0]]}? (valid ids: {valid})"
        raise BadInput(message) from None


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A teacher's course folder (with course.toml) [default: $GRADER_COURSE, or "
                   "the nearest course.toml upwards; its exercises join the built-in ones].")
@click.option("-v", "verbosity", count=True,
              help="Log what batch, the warm server and grader faults do to stderr (-vv: more). "
                   "Give it before the command: grade -v batch ….")
def main(course, verbosity):
    """Grade PyTorch exercises: `grade exercise03` grades your exercises/ copy."""
    settings.check_all()
    logs.configure(verbosity)
    catalog.select(course)
    catalog.exercises()


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
              help="Also write the scorecard to this file: in --format's format, or as JSON "
                   "when --format is terminal.")
@click.option("--release-body", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the Markdown scorecard here (Classroom 50's release-body.md).")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Exit with status 1 when the score is below this percentage.")
@click.option("--classroom-output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also append `result=<base64>` for GitHub Classroom's reporter to this file "
                   "(use \"$GITHUB_OUTPUT\").")
@click.option("--verbose", "-v", is_flag=True,
              help="List every check, also those held back by one shared cause.")
@click.option("--watch", is_flag=True,
              help="Grade again on every save of the submission and say what changed; Ctrl-C stops.")
def exercise_cmd(exercise_id, path, fmt, out, release_body, fail_under, classroom_output,
                 verbose, watch):
    """Grade one exercise. PATH: the module file, a notebook, or a folder holding it."""
    from grader import live
    from grader.render import terminal

    waited = live.stopwatch()
    ex = _exercise(exercise_id)
    _resolve_salt([ex])
    if path is None:
        path = ex.exercise_dir(catalog.find_course_root()) / ex.filename
    if not path.exists():
        raise BadInput(f"no such file or folder: {path}")
    if path.is_dir() and not locate(ex, path).exists():  # e.g. a Gradescope upload named hw1.py
        path = detect(path, [ex]).get(ex.id, path)
    if watch:
        if fmt != "terminal" or out or release_body or classroom_output or fail_under is not None:
            raise BadInput("--watch prints terminal scorecards only; drop --format, --out, "
                           "--release-body, --classroom-output and --fail-under")
        live.watch(ex, path, lambda card: terminal.render(card, verbose=verbose))
        sys.exit(0)
    card = _grade_now(ex, path)
    card.duration_s = waited()
    try:
        text = terminal.render(card, verbose=verbose) if fmt == "terminal" else RENDERERS[fmt](card)
    except classroom50.FractionalPoints as exc:
        click.echo(f"grade: cannot write {fmt}: {exc}", err=True)
        sys.exit(GRADER_FAULT)
    click.echo(text, nl=False)
    if out:
        write_atomic(out, RENDERERS["json"](card) if fmt == "terminal" else text)
    if release_body:
        write_atomic(release_body, RENDERERS["markdown"](card))
    if classroom_output:
        with open(classroom_output, "a", encoding="utf-8") as f:
            f.write(classroom.github_output(card))
    if card.grader_error:
        click.echo(f"grade: grading {ex.short_id} failed on the grader's side, not yours; the "
                   "score above is incomplete. Show this to your teacher:\n"
                   + (card.grader_fault or "\n".join(f"{c.id}: {c.message}\n{c.output}"
                                                      for c in card.checks
                                                      if c.status == Status.GRADER_ERROR)), err=True)
        sys.exit(GRADER_FAULT)
    if fail_under is not None and card.percent < fail_under:
        click.echo(f"grade: the score {card.percent:.0f}% is below --fail-under {fail_under:g}%, "
                   "so the exit status is 1", err=True)
        sys.exit(1)


def _grade_now(ex: catalog.Exercise, path: Path):
    """Through the warm server when one is up (see `server`); else here, starting the warm
    worker first so that its torch import overlaps this process's own."""
    from grader import live, server
    from grader.worker import salting

    use_server = server.enabled() and not salting.current()  # a salted run is a one-off: graded here
    with live.ProbeLine(f"grading {ex.short_id}", locate(ex, path).name) as line:
        card = server.grade(ex, path, on_probe=line) if use_server else None
        if card is not None:
            return card
        from grader.session import GradingSession

        with GradingSession([ex]) as session:
            card = session.grade(ex, path, on_probe=line).stamp()
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
        raise BadInput(f"{scorecard} is not a scorecard JSON file ({exc})") from None
    click.echo(RENDERERS[fmt](card), nl=False)


@main.command("batch")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Results folder: gradebook.csv, summary.md/.json, scorecards/.")
@click.option("--exercise", "exercise_ids", multiple=True, metavar="ID",
              help="Grade these exercises for everyone (repeatable); default: those each "
                   "submission attempts.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Grading processes [default: the CPUs this process may use].")
@click.option("--resume", is_flag=True,
              help="Keep the scorecards already in --out; grade the rest.")
@click.option("--shard", metavar="i/N", default=None,
              help="Grade only the i-th of N deterministic parts of the class (1 ≤ i ≤ N).")
@click.option("--probe-timeout", type=click.FloatRange(0.1), default=Limits.probe_seconds,
              show_default=True, help="Seconds one probe of a submission may run.")
@click.option("--submission-timeout", type=click.FloatRange(0.1),
              default=Limits.submission_seconds, show_default=True,
              help="Seconds all probes of one submission × exercise may run together.")
@click.option("--salt", default=None, metavar="random|N",
              help="Grade on salted probe inputs no student has seen (needs the solutions): "
                   "`random` picks one (kept by --resume), 0 is the reference packs' own "
                   "[default: $GRADER_SALT, else 0].")
def batch_cmd(submissions, out, exercise_ids, jobs, resume, shard, probe_timeout,
              submission_timeout, salt):
    """Grade a class: SUBMISSIONS holds one folder, zip, .py or .ipynb per student.

    Also reads a GitHub Classroom download (gh classroom clone student-repos) and a
    Gradescope export (with its submission_metadata.yml). Ctrl-C stops and keeps what is
    done; run again with --resume to finish.
    """
    from grader import batch

    chosen = [_exercise(e) for e in exercise_ids] or list(catalog.exercises())
    if salt is not None:
        existing = batch.read_plan(out) if resume and salt == "random" else None
        os.environ["GRADER_SALT"] = str(existing.salt if existing else salt)
    _resolve_salt(chosen)
    limits = Limits(probe_seconds=probe_timeout, submission_seconds=submission_timeout)
    if not sandbox.available():
        click.echo("grade: warning: bubblewrap is not usable here, so submissions run with your "
                   "permissions and could change any file you can, this batch's results included; "
                   "install bubblewrap (see `grade doctor`) before grading a class", err=True)
    result = batch.run_batch(submissions, out, exercises=list(exercise_ids) or None,
                             jobs=jobs, resume=resume, shard=shard, limits=limits)
    from grader.render.gradebook import one_line

    click.echo(f"{result.graded} graded, {result.skipped} already done, of {result.total} "
               f"({result.students} students) in {result.wall_s:.1f} s; "
               f"{one_line(result.reports)} Results: {out} (open {out / 'report.html'})")
    if result.interrupted:
        click.echo(f"grade: interrupted; {result.total - result.graded - result.skipped} left. "
                   "Run the same command with --resume to finish.", err=True)
        sys.exit(130)


@main.command("merge")
@click.argument("outputs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--allow-partial", is_flag=True,
              help="Merge even with shards or scorecards missing, marking the gaps.")
def merge_cmd(outputs, out, allow_partial):
    """Combine the --out folders of sharded batches into one gradebook and summary.

    Refuses (exit status 1, a line per gap) unless they are every shard of one run, each
    complete, graded by the same grader and reference results.
    """
    from grader import batch

    try:
        summary = batch.merge(list(outputs), out, allow_partial=allow_partial)
    except batch.MergeRefused as exc:
        for gap in exc.gaps:
            click.echo(f"grade merge: {gap}", err=True)
        click.echo("grade merge: nothing merged; merge every shard, or pass --allow-partial "
                   "to merge anyway with the gaps marked", err=True)
        sys.exit(1)
    from grader.render.gradebook import one_line

    click.echo(f"merged {len(outputs)} folders: {summary['students']} students; "
               f"{one_line(summary)} Results: {out}")


@main.command("report")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write [default: RESULTS/report.html].")
def report_cmd(results, out):
    """Write the class report of a `grade batch` or `grade merge` folder: one HTML file
    that opens offline."""
    from grader import batch
    from grader.render.gradebook import one_line

    if not (results / "scorecards").is_dir():
        raise BadInput(f"{results} holds no scorecards/ (is it a batch output?)")
    out = out or results / "report.html"
    summary = batch.write_report(results, out)
    click.echo(f"{summary['students']} students; {one_line(summary)} Report: {out}")


@main.command("init-course")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--exercise", "exercise_ids", multiple=True, metavar="ID",
              help="Only these exercises (repeatable); default: all.")
@click.option("--name", "course", default="PyTorch course", show_default=True,
              help="The course name in the student README.")
@click.option("--platform", type=click.Choice(["classroom50", "actions", "github-classroom"]),
              default="classroom50", show_default=True,
              help="Where submissions are graded: Classroom 50, a plain GitHub Actions workflow, "
                   "or GitHub Classroom (sunset in 2026).")
@click.option("--grader", "grader_spec", default=None, metavar="REQUIREMENT",
              help="What students and CI pip-install, e.g. a git tag or wheel URL "
                   "[default: pytorch-grader @ git+https://github.com/ORG/grader@v<version>].")
@click.option("--python", default="3.11", show_default=True, help="Python version in CI.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
def init_course_cmd(dest, exercise_ids, course, platform, grader_spec, python, force):
    """Write the student course repository to DEST, set up for grading on PLATFORM."""
    from grader import course as course_mod

    for e in exercise_ids:
        _exercise(e)
    written = course_mod.init_course(dest, exercise_ids=list(exercise_ids) or None, course=course,
                                     grader=grader_spec or course_mod.DEFAULT_GRADER,
                                     python=python, platform=platform, force=force)
    click.echo(f"wrote {len(written)} files: the student repository in {dest}")
    if platform == "classroom50":
        click.echo(f"and the Classroom 50 autograder in {course_mod.classroom50_dir(dest)} "
                   "(read its README.md)")
    if not grader_spec:
        click.echo("pin the grader with --grader (a git tag or wheel URL students can install)")


@main.command("gradescope-bundle")
@click.argument("exercise_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The zip to write [default: autograder-<exercise>.zip].")
def gradescope_bundle_cmd(exercise_id, out):
    """Write the Gradescope autograder zip (setup.sh, run_autograder, grader) for one exercise."""
    from grader import course as course_mod

    ex = _exercise(exercise_id)
    out = out or Path(f"autograder-{ex.short_id}.zip")
    course_mod.gradescope_bundle(ex.id, out)
    click.echo(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment")


@main.command("doctor")
def doctor_cmd():
    """Report which protections are active here (sandbox, limits, CUDA) and that workers start."""
    from grader.doctor import report

    rows = report()
    for item, ok, detail in rows:
        click.echo(f"{'ok  ' if ok else 'FAIL' if detail.startswith('FAIL') else 'WARN'}  {item:<20} "
                   f"{detail.removeprefix('FAIL: ')}")
    if any(detail.startswith("FAIL") for _, _, detail in rows):
        click.echo("grade: grading cannot work here until the FAIL above is fixed", err=True)
        sys.exit(1)
    if not all(ok for _, ok, _ in rows):
        click.echo("some protections are missing: grading works, with less isolation", err=True)


@main.command("list")
def list_cmd():
    """List the exercises, and the course each comes from."""
    builtin = {ex.number for ex in catalog.course_exercises(catalog.builtin_course())}
    for ex in catalog.exercises():
        where = ("built in" if ex.course.builtin else
                 f"{ex.course.title}{' (replaces the built-in one)' if ex.number in builtin else ''}")
        click.echo(f"{ex.short_id}  {ex.id:<32} {ex.title}  [{where}]")


@main.command("new")
@click.argument("exercise_id")
@click.option("--course", "course_root", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="The course folder (made a course when it is not one yet).")
@click.option("--module", default=None, help="The file students edit, without .py "
                                             "[default: the id's words, e.g. tuning].")
@click.option("--title", default=None, help="The exercise's title.")
def new_cmd(exercise_id, course_root, module, title):
    """Scaffold EXERCISE_ID (e.g. exercise19_tuning) in a course: README, stub, public test,
    reference, hidden suite, one mistake and one alternative — audited as it stands."""
    from grader.scaffold import new_exercise

    written = new_exercise(course_root, exercise_id, module, title)
    click.echo(f"wrote {len(written)} files for {exercise_id} in {course_root}; next: "
               f"grade --course {course_root} audit {exercise_id[:10]}")


@main.command("audit")
@click.argument("exercise_ids", nargs=-1, metavar="[ID]...")
@click.option("--format", "fmt", type=click.Choice(["terminal", "json", "markdown"]),
              default="terminal", show_default=True)
@click.option("--budget", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds the suite may take on the reference.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Grading processes [default: the CPUs this process may use].")
def audit_cmd(exercise_ids, fmt, budget, jobs):
    """Check hidden suites against their kits: stub 0, reference and alternatives full marks,
    every mistake caught, no unguarded check, within the time budget, pack fresh.
    Default: the exercises of the selected course (else all built-in ones). Exit 1 on a miss."""
    from grader import audit

    results = audit.audit(_with_solutions(exercise_ids), budget=budget, jobs=jobs)
    click.echo(audit.RENDERERS[fmt](results), nl=False)
    sys.exit(1 if any(a.misses for a in results) else 0)


@main.command("notebook")
@click.argument("exercise_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the notebook (default: <module>.ipynb here).")
@click.option("--force", is_flag=True, help="Replace a notebook that is already there.")
def notebook_cmd(exercise_id, out, force):
    """Write a student notebook for an exercise: its README, its untouched stub and a last
    cell that grades the notebook from inside it."""
    ex = _exercise(exercise_id)
    out = out or Path(f"{ex.module}.ipynb")
    if out.exists() and not force:
        raise BadInput(f"{out} already exists; not overwriting your work (--force replaces it)")
    import nbformat

    nbformat.write(notebooks.build(ex), str(out))
    click.echo(f"wrote {out}: write your code in it, then run its last cell to grade it "
               f"(or `grade {ex.short_id} {out}` in a shell)")


@main.group("references")
def references_group():
    """Reference packs: the reference results shipped instead of the solutions."""


def _resolve_salt(exercises: list[catalog.Exercise]) -> None:
    """Settle GRADER_SALT (`random` becomes a number) for this run and the processes it
    starts; exit 2 with one line when it is unusable or the solutions it needs are absent."""
    from grader.worker import salting

    if settings.raw("GRADER_SALT").lower() == "random":
        import secrets

        os.environ["GRADER_SALT"] = str(secrets.randbelow(1 << 62) + 1)
    salt = salting.current()
    missing = [ex.short_id for ex in exercises if not ex.solution_path.is_file()]
    if salt and missing:
        raise BadInput(f"a salted run (salt {salt}) needs the reference solutions, and "
                       f"{', '.join(missing)} has none here; grade with the default salt, or where "
                       "the solutions are")


def _with_solutions(exercise_ids) -> list[catalog.Exercise]:
    """The exercises named, else those of the selected course (else the built-in ones);
    exit 2 unless each has its reference solution here."""
    course = catalog.selected_course()
    chosen = ([_exercise(e) for e in exercise_ids] if exercise_ids else
              [ex for ex in catalog.exercises() if ex.course == (course or catalog.builtin_course())])
    missing = [ex for ex in chosen if not ex.solution_path.is_file()]
    if missing:
        raise BadInput(f"no reference solution for {', '.join(ex.id for ex in missing)} (looked in "
                       f"{missing[0].course.solutions_dir}): run this where the solutions are")
    return chosen


@references_group.command("build")
@click.argument("exercise_ids", nargs=-1, metavar="[ID]...")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Exercises built at once [default: the number of CPUs].")
def references_build_cmd(exercise_ids, jobs):
    """Record the reference packs (grader/packs/) from the solutions; run in the checkout."""
    from multiprocessing import get_context

    chosen = _with_solutions(exercise_ids)
    jobs = min(jobs or os.cpu_count() or 1, len(chosen))
    failed = False
    with get_context("spawn").Pool(jobs) as pool:  # leaving the block (Ctrl-C too) terminates it
        for ex_id, line in pool.imap(_build_one, [ex.id for ex in chosen]):
            failed |= line.startswith("FAILED")
            click.echo(f"{ex_id:<28} {line}")
    sys.exit(GRADER_FAULT if failed else 0)


def _build_one(exercise_id: str) -> tuple[str, str]:
    from grader import references
    from grader.checks import GraderError

    ex = catalog.get(exercise_id)
    try:
        pack = references.build_pack(ex, ex.stub_path)
    except GraderError as exc:
        return ex.id, f"FAILED: {exc}"
    return ex.id, f"{len(pack['entries'])} results, {ex.pack_path.stat().st_size / 1024:.0f} KiB"


@references_group.command("check")
def references_check_cmd():
    """Exit 1 unless every exercise's pack fits its hidden suite and solution."""
    from grader import references

    course = catalog.selected_course() or catalog.builtin_course()
    stale = [(ex.id, reason) for ex in catalog.course_exercises(course)
             if (reason := references.stale_reason(ex))]
    for ex_id, reason in stale:
        click.echo(f"{ex_id}: {reason}; run `grade references build {ex_id}`", err=True)
    sys.exit(1 if stale else 0)
