"""Renderers: pure functions from a Scorecard to text, one module per format."""

from grader.render import json_format, terminal

RENDERERS = {
    "terminal": terminal.render,
    "json": json_format.render,
}
