"""Submissions that attack the grader get nothing for what they block; grading finishes."""

import time

import pytest

from grader.worker.limits import Limits
from tests.harness import failures, mutate, reference_source

EX = "exercise01_autograd"
REF = reference_source(EX)
QUICK = Limits(probe_seconds=2, submission_seconds=20)

FIT_LINE_BODY = '    w = torch.zeros((), requires_grad=True)\n'


def _inject_into_fit_line(code: str) -> str:
    return mutate(REF, (FIT_LINE_BODY, code + FIT_LINE_BODY))


FIT_LINE_CHECKS = {"fit_line_returns", "fit_line_values", "fit_line_defaults", "fit_line_learns"}


@pytest.mark.parametrize("attack, status", [
    ("    import os; os._exit(0)\n", "error"),
    ("    import sys; sys.exit(0)\n", "error"),
    ("    raise KeyboardInterrupt\n", "error"),
    ("    while True: pass\n", "timeout"),
    ("    import os, signal; os.kill(os.getppid(), signal.SIGKILL); os._exit(0)\n", "error"),
])
def test_attack_in_a_function_costs_only_that_function(grade_source, attack, status):
    card = grade_source(EX, _inject_into_fit_line(attack), limits=QUICK)
    assert set(failures(card)) == FIT_LINE_CHECKS
    assert {c.status for c in card.checks if c.id in FIT_LINE_CHECKS} == {status}


def test_sleep_at_import_times_out_once(grade_source):
    start = time.monotonic()
    card = grade_source(EX, "import time\ntime.sleep(60)\n" + REF, limits=QUICK)
    assert card.score == 0 and time.monotonic() - start < 10
    assert all(c.status == "timeout" for c in card.checks)


def test_patched_comparisons_do_not_forge_a_pass(grade_source):
    wrong = mutate(REF, ("    return grad.detach()", "    return 2 * grad.detach()"))
    patch = ("import torch, torch.testing\n"
             "torch.allclose = lambda *a, **k: True\n"
             "torch.equal = lambda *a, **k: True\n"
             "torch.testing.assert_close = lambda *a, **k: None\n")
    card = grade_source(EX, patch + wrong)
    assert "gradient_values" in failures(card)


def test_flooding_output_is_capped(grade_source):
    card = grade_source(EX, _inject_into_fit_line("    while True: print('x' * 10000)\n"), limits=QUICK)
    assert set(failures(card)) == FIT_LINE_CHECKS
    check = next(c for c in card.checks if c.id == "fit_line_returns")
    assert "printed more than" in check.message and len(check.output) < 100_000
