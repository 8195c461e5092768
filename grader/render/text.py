"""Text helpers every renderer shares."""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


GRADER_FAULT = ("grading failed on the grader's side, not because of your code: this score "
                "is incomplete and your teacher must regrade it")


def points(x: float) -> str:
    """Points as text: 2, not 2.0; 1.5 stays 1.5."""
    return f"{x:g}"


def printable(text: str) -> str:
    """No control characters (terminal escapes, NUL) and no lone surrogates (unwritable)."""
    return _UNPRINTABLE.sub("\ufffd", str(text))
