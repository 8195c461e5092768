"""The named tolerances: `near`, the quick comparison of two plain numbers that diagnoses use,
says what `close` (torch's assert_close) says for every named tolerance."""

from __future__ import annotations

import math

import pytest

from grader import checks
from grader.checks import Tolerance, close, near

NAMED = {name: tol for name, tol in vars(checks).items() if isinstance(tol, Tolerance)}
PAIRS = [(1.0, 1.0), (1.0 + 5e-6, 1.0), (1.0 + 1.5e-5, 1.0), (1.00015, 1.0), (1.0003, 1.0),
         (0.0, 5e-7), (0.0, 2e-6), (2e-5, 0.0), (100.0, 100.005), (100.0, 100.02), (-3.0, -3.00001),
         (3.0, -3.0), (math.inf, math.inf), (math.inf, 1e30), (math.nan, math.nan), (math.nan, 1.0)]


def test_the_named_tolerances_are_all_here():
    assert {"FLOAT32", "EXACT", "LOSS", "SCALAR"} <= set(NAMED)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_near_agrees_with_close_on_plain_numbers(name):
    tol = NAMED[name]
    for actual, expected in PAIRS:
        assert near(actual, expected, tol=tol) == close(actual, expected, tol=tol), (actual, expected)


def test_near_tells_a_loss_before_the_step_from_the_loss_after_it():
    before, after = 0.69315, 0.69102  # one SGD step on a small batch
    assert near(before + 3e-5, before, tol=checks.LOSS)
    assert not near(after, before, tol=checks.LOSS)
