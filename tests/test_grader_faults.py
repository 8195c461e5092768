"""Faults of the grader are flagged for the teacher (status grader-error, `grader_error` on
the card, exit status 3), never charged to the student as a low score; and the two
CUDA-less builds of torch give the same diagnoses."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from click.testing import CliRunner

from grader import catalog, grading, references
from grader.cli import GRADER_FAULT, main
from grader.grading import grade
from grader.scorecard import Status
from tests.harness import FAST_LIMITS

EX = catalog.get("exercise01")


@pytest.fixture
def suites(tmp_path, monkeypatch):
    """A private copy of the hidden suites that a test may break."""
    copy = tmp_path / "suites"
    shutil.copytree(catalog.SUITES_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for module in (catalog, grading, references):
        monkeypatch.setattr(module, "SUITES_DIR", copy)
    for name in [n for n in sys.modules if EX.id in n.split(".")]:
        monkeypatch.delitem(sys.modules, name)  # pytest re-uses an imported suite module
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    return copy / EX.id


def _cli_card(args) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_suite_that_does_not_load_is_a_grader_error(suites):
    (suites / "test_hidden.py").write_text("def broken(:\n")
    code, card = _cli_card([EX.short_id, str(EX.solution_path)])
    assert code == GRADER_FAULT
    assert card["grader_error"] and "failed to load" in card["grader_fault"]
    assert "SyntaxError" in card["grader_fault"]


def test_check_that_breaks_is_a_grader_error_not_a_mistake(suites, zygote):
    source = (suites / "test_hidden.py").read_text()
    (suites / "test_hidden.py").write_text(source.replace(
        '    """gradient(f, x) returns df/dx', '    {}["oops"]\n    """gradient(f, x) returns df/dx', 1))
    ex = catalog.get(EX.id)  # the exercise of the patched suites
    assert ex.suite_dir == suites
    card = grade(ex, EX.solution_path, zygote=zygote, limits=FAST_LIMITS)
    broken = [c for c in card.checks if c.status == Status.GRADER_ERROR]
    assert [c.id for c in broken] == ["gradient_values"] and card.grader_error
    assert "KeyError" in broken[0].message and "Traceback" in broken[0].output
    assert all(c.status == Status.PASSED for c in card.checks if c not in broken)


def test_missing_reference_result_is_a_grader_error(monkeypatch, tmp_path, zygote):
    submission = shutil.copy(EX.solution_path, tmp_path / EX.filename)
    monkeypatch.setenv("GRADER_SOLUTIONS", str(tmp_path / "nowhere"))
    monkeypatch.setattr(catalog.Exercise, "pack_path", property(lambda ex: tmp_path / "none.pt"))
    references.load_pack.cache_clear()
    card = grade(catalog.get(EX.id), submission, zygote=zygote, limits=FAST_LIMITS)
    references.load_pack.cache_clear()
    assert card.grader_error
    faulted = [c for c in card.checks if c.status == Status.GRADER_ERROR]
    assert faulted and all("no reference pack" in c.message for c in faulted)


def test_stale_pack_is_refused(monkeypatch, suites, zygote):
    monkeypatch.setenv("GRADER_REFERENCES", "pack")
    with open(suites / "probes.py", "a") as f:
        f.write("\n# an edit the pack was not built for\n")
    references.load_pack.cache_clear()
    card = grade(catalog.get(EX.id), EX.solution_path, zygote=zygote, limits=FAST_LIMITS)
    assert card.grader_error
    assert any("another version of its hidden suite" in c.message for c in card.checks)


NO_DRIVER = ("Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU "
             "and installed a driver from http://www.nvidia.com/Download/index.aspx")
NOT_COMPILED = "Torch not compiled with CUDA enabled"


@pytest.mark.parametrize("raised", [f"RuntimeError({NO_DRIVER!r})", f"AssertionError({NOT_COMPILED!r})"])
def test_cuda_less_builds_give_the_same_diagnosis(raised, zygote, tmp_path):
    """A hard-coded cuda, graded as the CPU build and as a CUDA build with no driver would
    see it (each simulated by making torch's CUDA start-up raise what that build raises)."""
    ex = catalog.get("exercise12")
    mistake = ex.solution_path.parent / "mistakes" / "hard_coded_cuda.py"
    source = mistake.read_text()
    assert source.count("\nimport torch\n") == 1
    simulated = source.replace("\nimport torch\n", "\nimport torch, unittest.mock; torch.cuda._lazy_init = "
                               f"unittest.mock.Mock(side_effect={raised})\n")
    native, other = tmp_path / "a" / ex.filename, tmp_path / "b" / ex.filename  # messages name the file
    for path, text in ((native, source), (other, simulated)):
        path.parent.mkdir()
        path.write_text(text)
    native = grade(ex, native, zygote=zygote, limits=FAST_LIMITS)
    other = grade(ex, other, zygote=zygote, limits=FAST_LIMITS)
    messages = [(c.id, c.status, c.message) for c in native.checks]
    assert messages == [(c.id, c.status, c.message) for c in other.checks]
    assert any("CUDA unavailable" in m for _, _, m in messages)
