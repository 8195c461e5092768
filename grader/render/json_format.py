"""Scorecard as JSON (schema in README.md, `schema_version` bumps on breaking change)."""

from __future__ import annotations

import json

from grader.scorecard import Scorecard


def render(card: Scorecard) -> str:
    """The scorecard as JSON."""
    return json.dumps(card.to_dict(), indent=2) + "\n"
