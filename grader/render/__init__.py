"""Renderers: pure functions from a Scorecard to text, one module per format."""

from grader.render import classroom, classroom50, gradescope, json_format, junit, markdown, terminal

RENDERERS = {
    "terminal": terminal.render,
    "json": json_format.render,
    "markdown": markdown.render,
    "junit": junit.render,
    "gradescope": gradescope.render,
    "classroom": classroom.render,
    "classroom50": classroom50.render,
}
