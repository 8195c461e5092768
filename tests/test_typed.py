"""Typed probe results: a probe's return annotation is the one definition of its data on both
sides. The worker sends dataclasses as dicts; the trusted side rebuilds the declared type and
refuses any other shape; every built-in probe declares one."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import torch

from grader import catalog, typed
from grader.worker import wire
from grader.grading import grade
from tests.harness import FAST_LIMITS


@dataclass
class Inner:
    loss: float | None
    grads: list[torch.Tensor | None]


@dataclass
class Outer:
    name: str
    calls: list[Inner]
    by_device: dict[str, bool]
    pair: tuple[int, str]
    mode: Literal["train", "eval"]
    raw: Any = None


def _outer(**changes):
    base = Outer("step", [Inner(0.5, [torch.ones(2), None]), Inner(None, [])], {"meta": True},
                 (1, "a"), "train", raw=[1, "x"])
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def _across(obj):
    """What the trusted side receives for `obj` sent by a worker."""
    _, data = wire.decode(wire.encode({"status": "ok"}, wire.to_plain(obj)))
    return data


def test_a_dataclass_crosses_as_a_dict_and_comes_back_as_itself():
    sent = _outer()
    data = _across(sent)
    assert isinstance(data, dict) and isinstance(data["calls"][0], dict)
    got = typed.rebuild(Outer, data)
    assert isinstance(got, Outer) and isinstance(got.calls[0], Inner)
    assert got.calls[0].loss == 0.5 and got.calls[1].loss is None and got.calls[0].grads[1] is None
    torch.testing.assert_close(got.calls[0].grads[0], torch.ones(2))
    assert got.by_device == {"meta": True} and got.pair == (1, "a") and got.raw == [1, "x"]


@pytest.mark.parametrize("change, where", [
    ({"name": 3}, "result.name: expected str, got int"),
    ({"calls": [{"loss": 1.0}]}, "result.calls[0]: Inner lacks grads"),
    ({"calls": [{"loss": "1", "grads": []}]}, "result.calls[0].loss: expected float, got str"),
    ({"by_device": {"meta": "yes"}}, "result.by_device['meta']: expected bool, got str"),
    ({"pair": (1, 2)}, "result.pair[1]: expected str, got int"),
    ({"pair": (1,)}, "result.pair: expected 2 items, got 1"),
    ({"mode": "test"}, "result.mode: expected one of ['train', 'eval'], got 'test'"),
])
def test_a_field_of_another_type_is_named(change, where):
    data = {**_across(_outer()), **change}
    with pytest.raises(typed.ShapeError) as info:
        typed.rebuild(Outer, data)
    assert str(info.value) == where


def test_a_missing_or_extra_field_is_refused():
    data = _across(_outer())
    data["calls"][0].pop("loss")
    data["calls"][0]["los"] = 1.0
    with pytest.raises(typed.ShapeError, match=r"result.calls\[0\]: Inner lacks loss; has no field los"):
        typed.rebuild(Outer, data)


@pytest.mark.parametrize("hint, good, bad", [
    (float, [1.5, 2], [True, "1", None]),  # an int is a float's value; a bool is not
    (int, [3], [True, 3.0]),
    (bool, [False], [0]),
    (torch.Tensor, [torch.zeros(1)], [torch.nn.Parameter(torch.zeros(1)), [0.0]]),
    (float | None, [None, 1.0], ["x"]),
])
def test_leaves(hint, good, bad):
    for value in good:
        assert typed.rebuild(hint, value) is value
    for value in bad:
        with pytest.raises(typed.ShapeError):
            typed.rebuild(hint, value)


def test_an_unannotated_probe_returns_its_plain_data():
    def probe(mod):
        return {"x": 1}

    assert typed.declared(probe) is Any and typed.rebuild(Any, {"x": 1}) == {"x": 1}


def _probes(exercise):
    """The probe functions that checks run: named in quotes by the suite or the shared checks."""
    module = catalog.probes_module(exercise)
    callers = (exercise.suite_dir / "test_hidden.py").read_text() + TRUSTED_SIDE.read_text()
    return {name: fn for name, fn in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and f'"{name}"' in callers}


BUILTIN = [ex for ex in catalog.exercises() if ex.course.builtin]
TRUSTED_SIDE = catalog.SUITES_DIR / "trusted_side.py"


@pytest.mark.parametrize("exercise", BUILTIN, ids=lambda e: e.id)
def test_every_builtin_probe_declares_its_result(exercise):
    """Each probe a check runs has a return annotation, and no probe returns a bare dict (a
    record with fixed keys is a dataclass)."""
    probes = _probes(exercise)
    assert probes, f"no probes found for {exercise.id}"
    for name, fn in probes.items():
        hint = typed.declared(fn)
        assert hint is not Any, f"{exercise.id}: probe {name} has no return annotation"
        assert hint is not dict, f"{exercise.id}: probe {name} returns a bare dict; declare a dataclass"


def test_data_of_another_shape_is_a_grader_fault_not_the_students(tmp_path, monkeypatch, zygote):
    """A probe whose data does not fit its declaration (the probe broke, or code in the worker
    changed it) is flagged as the grader's problem, with the field named for the teacher."""
    from click.testing import CliRunner

    from grader.cli import main

    monkeypatch.delenv("GRADER_COURSE", raising=False)
    monkeypatch.setenv("GRADER_REFERENCES", "live")
    root = tmp_path / "course"
    assert CliRunner().invoke(main, ["new", "exercise19_tuning", "--course", str(root)]).exit_code == 0
    probes = root / "suites" / "exercise19_tuning" / "probes.py"
    probes.write_text(probes.read_text().replace("out: Any", "out: torch.Tensor"))
    monkeypatch.setenv("GRADER_COURSE", str(root))
    ex = catalog.get("exercise19")
    submission = tmp_path / ex.filename
    submission.write_text(ex.solution_path.read_text().replace("return x * factor", "return (x * factor).tolist()"))
    card = grade(ex, submission, zygote=zygote, limits=FAST_LIMITS)
    assert card.grader_error
    faults = [c for c in card.checks if c.status == "grader-error"]
    assert faults and "probe scale_call on the submission returned data of another shape" in faults[0].message
    assert "scale_call.out: expected Tensor, got list" in faults[0].message
    assert grade(ex, ex.solution_path, zygote=zygote, limits=FAST_LIMITS).score > 0
