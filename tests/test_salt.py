"""Salted probe inputs: recorded grades cannot be copied from the reference pack.

A student holds the pack's results for the default inputs; a teacher's batch and the
Gradescope image grade with a salt, on inputs no student has seen. Every check must hold
for any salt: the whole kit gets the same verdicts salted as with the default inputs."""

from __future__ import annotations

import os
import re

import pytest
from click.testing import CliRunner

from grader import catalog, kit
from grader.cli import main
from grader.grading import grade
from grader.worker import salting
from tests.harness import FAST_LIMITS
from tests.test_exercise_cases import CASES, IDS

SALT = "7919"
SALTS = (SALT, "104729")  # the kit cases take turns


def test_mix_keeps_the_default_and_separates_seeds():
    assert salting.mix(5, 0) == 5
    assert salting.mix(5, 1) != salting.mix(6, 1) and salting.mix(5, 1) != salting.mix(5, 2)
    assert salting.mix(5, 1) == salting.mix(5, 1)


def _salted_params():
    """Every reference and alternative, and every third mistake (all 666 cases take 12
    minutes on two cores; `GRADER_SALT_ALL=1` runs them all)."""
    every = os.environ.get("GRADER_SALT_ALL") == "1"
    params = []
    for ex_id in IDS:
        mistakes = [c for c in CASES[ex_id] if c.kind == "mistake"]
        chosen = [c for c in CASES[ex_id] if c.kind in ("reference", "alternative")]
        chosen += mistakes if every else mistakes[::3]
        params += [pytest.param(ex_id, case, SALTS[i % len(SALTS)], id=f"{ex_id}-{case.name}")
                   for i, case in enumerate(chosen)]
    return params


@pytest.mark.parametrize("exercise_id, case, salt", _salted_params())
def test_kit_verdicts_hold_for_another_salt(exercise_id, case, salt, monkeypatch, zygote):
    monkeypatch.setenv("GRADER_SALT", salt)
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    card = grade(catalog.get(exercise_id), case.path, zygote=zygote, limits=FAST_LIMITS)
    assert not kit.judge(case, card)


SPY = '''
import hashlib, torch
_seen = []
def gradient(f, x):
    print("INPUT", hashlib.sha256(x.detach().double().numpy().tobytes()).hexdigest())
    raise RuntimeError("spying")
'''
LOOKUP = '''
import hashlib
_KNOWN = {known!r}
_real_gradient = gradient
def gradient(f, x):
    """Right only for inputs seen before: a lookup table, not an implementation."""
    if hashlib.sha256(x.detach().double().numpy().tobytes()).hexdigest() in _KNOWN:
        return _real_gradient(f, x)
    return torch.zeros_like(x)
'''


def test_a_lookup_of_the_default_inputs_loses_its_marks_under_a_salt(monkeypatch, tmp_path, zygote):
    """The attack: learn the default inputs (as the installed suite and pack reveal them),
    answer only those. Full marks with the default salt; caught with any other."""
    ex = catalog.get("exercise01")
    spy = tmp_path / "spy" / ex.filename
    spy.parent.mkdir()
    spy.write_text(ex.solution_path.read_text() + SPY)
    seen = grade(ex, spy, zygote=zygote, limits=FAST_LIMITS)
    known = set(re.findall(r"INPUT ([0-9a-f]{64})", "\n".join(c.output for c in seen.checks)))
    assert known
    attack = tmp_path / "attack" / ex.filename
    attack.parent.mkdir()
    attack.write_text(ex.solution_path.read_text() + LOOKUP.format(known=sorted(known)))
    plain = grade(ex, attack, zygote=zygote, limits=FAST_LIMITS)
    assert plain.score == plain.max_score
    monkeypatch.setenv("GRADER_SALT", SALT)
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    salted_card = grade(ex, attack, zygote=zygote, limits=FAST_LIMITS)
    lost = {c.id for c in salted_card.checks if c.status != "passed"}
    assert "gradient_values" in lost and not salted_card.grader_error


def test_salted_run_without_solutions_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_SOLUTIONS", str(tmp_path / "none"))
    monkeypatch.setenv("GRADER_SALT", "random")
    ex = catalog.get("exercise01")
    result = CliRunner().invoke(main, [ex.short_id, str(ex.stub_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "needs the reference solutions" in result.stderr
