"""The `grade` command line. Parses arguments and calls library functions, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader import __version__, catalog, notebooks
from grader.grading import grade
from grader.render import RENDERERS


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


@main.command("exercise")
@click.argument("exercise_id")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="terminal",
              show_default=True, help="How to print the scorecard.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scorecard as JSON to this file.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Exit with status 1 when the score is below this percentage.")
def exercise_cmd(exercise_id, path, fmt, out, fail_under):
    """Grade one exercise. PATH: the module file, a notebook, or a folder holding it."""
    ex = _exercise(exercise_id)
    if path is None:
        path = ex.exercise_dir(catalog.find_course_root()) / ex.filename
    if not path.exists():
        click.echo(f"grade: no such file or folder: {path}", err=True)
        sys.exit(2)
    card = grade(ex, path)
    click.echo(RENDERERS[fmt](card), nl=False)
    if out:
        out.write_text(RENDERERS["json"](card))
    if fail_under is not None and card.percent < fail_under:
        sys.exit(1)


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
