"""Reference packs: fresh against the suites and solutions, plain data, equal to live
references, and a note when the local torch differs from the one that recorded them."""

from __future__ import annotations

import pytest
import torch

from grader import catalog, references
from grader.checks import close
from grader.grading import grade
from grader.references import ReferenceRunner
from tests.harness import FAST_LIMITS

IDS = [ex.id for ex in catalog.exercises()]


@pytest.mark.parametrize("exercise_id", IDS)
def test_pack_is_fresh(exercise_id):
    reason = references.stale_reason(catalog.get(exercise_id))
    assert not reason, f"{reason}: run `grade references build {exercise_id}`"


@pytest.mark.parametrize("exercise_id", ["exercise01_autograd", "exercise03_training_loop"])
def test_live_references_equal_the_pack(exercise_id, zygote):
    ex = catalog.get(exercise_id)
    recorded: dict = {}
    live = ReferenceRunner(zygote, ex, FAST_LIMITS, record=recorded, source="live")
    grade(ex, ex.solution_path, zygote=zygote, limits=FAST_LIMITS, reference=live)
    entries = references.load_pack(ex)["entries"]
    assert recorded and set(recorded) <= set(entries)
    for key, data in recorded.items():
        assert same(data, entries[key]), key


def same(a, b) -> bool:
    """Plain probe data equal: tensors to float precision, everything else exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return close(a, b, rtol=1e-5, atol=1e-6)
    return a == b


def test_other_torch_minor_is_noted(monkeypatch, zygote):
    ex = catalog.get("exercise01")
    pack = {**references.load_pack(ex), "torch": "1.0.0"}
    monkeypatch.setattr(references, "load_pack", lambda exercise: pack)
    card = grade(ex, ex.solution_path, zygote=zygote, limits=FAST_LIMITS)
    assert card.score == card.max_score
    assert any("recorded with torch 1.0.0" in note for note in card.notes)
