"""What a hidden suite writes with: the `check` decorator and the failures a check raises.

A check is a pytest test function in the trusted process. Its docstring's first line
is the title the student sees; it asks the `student` fixture for probe data and raises
`Mistake` (via the helpers below) with a message that names the student's mistake.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Tolerance:
    """How far a value may be from the expected one and still agree:
    |actual - expected| <= atol + rtol * |expected|, element by element."""

    rtol: float
    atol: float


# The tolerances a check compares with (pass one as `tol=`); a suite names its own only for a
# comparison no other check makes.

# the default: float32 results computed another way (another order of operations, a float64 reference)
FLOAT32 = Tolerance(rtol=1e-4, atol=1e-5)
# float32 values with entries near 0 (gradients, per-element losses): a small wrong entry is not excused
FLOAT32_SMALL = Tolerance(rtol=1e-4, atol=1e-6)
# float32 outputs of normalisation, attention or softmax layers, whose rounding outgrows FLOAT32's atol
FLOAT32_LAYERS = Tolerance(rtol=1e-4, atol=1e-4)
# float32 results of the same operations run again (a resumed run, forward vs decode(encode))
SAME_OPS = Tolerance(rtol=1e-5, atol=1e-6)
# float32 values far from the reference's arithmetic (divided by a std near 1e-8, scaled by a batch size)
LOOSE = Tolerance(rtol=1e-3, atol=1e-5)
# a float32 run of many steps replayed in float64 to recognise a mistake: rounding compounds over the steps
REPLAYED = Tolerance(rtol=1e-3, atol=1e-4)
# float64 results computed another way
FLOAT64 = Tolerance(rtol=1e-6, atol=1e-8)
# values that must be unchanged (a copy, a restore, noise of std 0), up to float32 rounding
ROUNDING = Tolerance(rtol=0.0, atol=1e-6)
# values that must be identical (initial values, state an eval-mode forward must not touch)
EXACT = Tolerance(rtol=0.0, atol=0.0)
# a float32 loss the trusted side recomputes from the parameters and batch a step saw
LOSS = Tolerance(rtol=1e-4, atol=1e-4)
# plain numbers derived from the same float32 values another way (a mean of losses, a learning rate)
SCALAR = Tolerance(rtol=1e-5, atol=1e-5)


def _rtol_atol(rtol: float | None, atol: float | None, tol: Tolerance | None) -> tuple[float, float]:
    if tol is not None and (rtol is not None or atol is not None):
        raise TypeError("pass tol= or rtol=/atol=, not both")
    tol = FLOAT32 if tol is None else tol
    return (tol.rtol if rtol is None else rtol), (tol.atol if atol is None else atol)


def close(actual, expected, rtol: float | None = None, atol: float | None = None, *,
          tol: Tolerance | None = None) -> bool:
    """Whether two plain values (tensors, numbers, nested lists/dicts) agree within `tol`
    (default FLOAT32); an `rtol` or `atol` given instead replaces that part of FLOAT32."""
    rtol, atol = _rtol_atol(rtol, atol, tol)
    try:
        torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=False,
                                   check_dtype=False, check_device=False)
    except (AssertionError, TypeError, ValueError, RuntimeError):
        return False
    return True


def near(actual: float, expected: float, *, tol: Tolerance) -> bool:
    """Whether two plain numbers agree within `tol`, as `close` would say, without its cost
    for each of the many candidates a diagnosis tries; NaN agrees with nothing."""
    return actual == expected or abs(actual - expected) <= tol.atol + tol.rtol * abs(expected)


def expect_close(actual, expected, message: str, rtol: float | None = None, atol: float | None = None, *,
                 tol: Tolerance | None = None) -> None:
    """Raise `Mistake(message)` unless `actual` matches `expected` (shape, then values) within
    `tol` (default FLOAT32), or `rtol`/`atol` as for `close`."""
    if close(actual, expected, rtol, atol, tol=tol):
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
