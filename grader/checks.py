"""What a hidden suite writes with: the `check` decorator and the failures a check raises.

A check is a pytest test function in the trusted process. Its docstring's first line
is the title the student sees; it asks the `student` fixture for probe data and raises
`Mistake` (via the helpers below) with a message that names the student's mistake.
"""

from __future__ import annotations

import functools

import torch

from grader.scorecard import Category

CATEGORIES = tuple(c.value for c in Category)


def check(category: str | Category, points: float = 1.0):
    """Mark a test function as a graded check worth `points` in `category`."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown check category {category!r}; use one of {CATEGORIES}")

    def mark(fn):
        fn.grader_check = {"category": str(category), "points": float(points)}
        return fn

    return mark


class Mistake(AssertionError):
    """The submission behaves wrongly; the message is what the student reads."""

    def __init__(self, message: str, expected=None, actual=None):
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual


class ProbeError(Exception):
    """The submission's code could not produce the data (raised, crashed, timed out...)."""

    def __init__(self, status: str, message: str, output: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.output = output


class GraderError(Exception):
    """Something on the grader's side went wrong (never the student's fault)."""


def expect(condition, message: str) -> None:
    """Raise `Mistake(message)` unless `condition` holds."""
    if not condition:
        raise Mistake(message)


@functools.cache
def warm() -> None:
    """Pay, once per process, what the first `assert_close` imports (torch.distributed.tensor,
    about 0.6 s), so that a cold `grade` does it while the worker process still starts."""
    close(torch.zeros(1), torch.zeros(1))


def close(actual, expected, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Whether two plain values (tensors, numbers, nested lists/dicts) agree."""
    try:
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=False,
                                   check_dtype=False, check_device=False)
    except (AssertionError, TypeError, ValueError, RuntimeError):
        return False
    return True


def expect_close(actual, expected, message: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Raise `Mistake(message)` unless `actual` matches `expected` (shape, then values)."""
    if close(actual, expected, rtol, atol):
        return
    if isinstance(expected, torch.Tensor) and isinstance(actual, torch.Tensor):
        if actual.shape != expected.shape:
            raise Mistake(f"{message} (shape {tuple(actual.shape)}, expected {tuple(expected.shape)})",
                          expected=tuple(expected.shape), actual=tuple(actual.shape))
        diff = (actual.double() - expected.double()).abs().nan_to_num(float("inf")).max().item()
        raise Mistake(f"{message} (largest difference {diff:.3g})")
    raise Mistake(message, expected=_short(expected), actual=_short(actual))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
