"""`grade new exerciseNN_slug`: a complete, working exercise to start from.

It writes every part a course needs — README, stub, public test, reference, hidden suite
(one probe, one check), two mistakes and one alternative — around a one-function example
(`scale(x, factor)`), so `grade audit` passes at once; the teacher then replaces the
example with the real task, part by part, auditing as they go.
"""

from __future__ import annotations

from pathlib import Path

from grader.catalog import COURSE_FILE, ID_PATTERN
from grader.errors import BadInput


class ScaffoldError(BadInput):
    """An exercise that `grade new` cannot write as asked."""


REFERENCE = '''"""Reference solution: {id}."""

import torch


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """x multiplied by factor, a new tensor of x's shape."""
    return x * factor
'''

FILES = {
    "exercises/{id}/README.md": '''# {id}: {title}

TODO (teacher): the task, in the words a student needs.

## API (`{module}.py`)
- `scale(x, factor) -> Tensor`: `x` multiplied by `factor`, same shape as `x`.

## What is checked
| rule | check |
| --- | --- |
| `scale` returns `x * factor` | `scale_values` |

## Check your work
`pytest exercises/{id}`, then `grade {short}`.
''',
    "exercises/{id}/{module}.py": '''"""{title}: fill in the TODOs, then run `grade {short}`."""

import torch


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """x multiplied by factor, a new tensor of x's shape."""
    raise NotImplementedError("TODO: scale")
''',
    "exercises/{id}/test_public.py": '''"""Public checks for {short}. Run: pytest exercises/{id}  (then: grade {short})"""

import torch

from {module} import scale


def test_scale_keeps_the_shape():
    assert scale(torch.ones(2, 3), 2.0).shape == (2, 3)
''',
    "solutions/{id}/{module}.py": REFERENCE,
    "solutions/{id}/mistakes/adds_instead.py": '''# expect: scale_values
# message: scale_values: differs
''' + REFERENCE.replace("return x * factor", "return x + factor"),
    "solutions/{id}/mistakes/returns_a_sum.py": '''# expect: api, scale_values
# message: api: shape
''' + REFERENCE.replace("return x * factor", "return (x * factor).sum()"),
    "solutions/{id}/alternatives/torch_mul.py": REFERENCE.replace("return x * factor",
                                                                  "return torch.mul(x, factor)"),
    "suites/{id}/__init__.py": '''"""{id}: what the grader needs to know of the exercise."""

TITLE = "{title}"
MODULE = "{module}"
API = ["scale(x, factor)"]
''',
    "suites/{id}/probes.py": '''"""Probes: run in the sandboxed worker on the submission `mod`. Each declares what it
returns with its return annotation, a dataclass of plain data (tensors, numbers, strings,
lists and dicts of them); the checks get that dataclass back, its fields checked."""

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class ScaleCall:
    out: Any  # what scale returned: a tensor if right, but a check must see any mistake


def scale_call(mod, factor) -> ScaleCall:
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    return ScaleCall(out=mod.scale(x, factor))
''',
    "suites/{id}/test_hidden.py": '''"""Hidden checks of {id}: each a pytest function with @check; its docstring is the
title students see; a failure raises Mistake with a message that names the mistake."""

import torch

from grader.checks import Mistake, check, expect_close


@check("api", points=1)
def test_api(student):
    """scale exists with the README's signature and returns a tensor of x's shape"""
    student.expect_api()
    out = student.run("scale_call", factor=1.0).out
    if not isinstance(out, torch.Tensor) or out.shape != (3, 4):
        raise Mistake(f"scale(x, factor) should return a tensor of x's shape (3, 4), not "
                      f"{{getattr(out, 'shape', type(out).__name__)}}")


@check("values", points=2)
def test_scale_values(student, reference):
    """scale(x, factor) returns x * factor"""
    for factor in (2.0, -0.5):
        got = student.run("scale_call", factor=factor).out
        want = reference.run("scale_call", factor=factor).out
        expect_close(got, want, f"scale(x, {{factor}}) differs from x * factor")
''',
}


def new_exercise(course_root: Path, exercise_id: str, module: str | None = None,
                 title: str | None = None) -> list[Path]:
    """Write the exercise's files into the course at `course_root` (made a course, with a
    course.toml, when it is not one yet); returns the files written."""
    match = ID_PATTERN.fullmatch(exercise_id)
    if not match:
        raise ScaffoldError(f"{exercise_id!r} is not an exercise id like exercise19_tuning "
                            "(exercise, two digits, _, lower-case words)")
    module = module or match.group(2)
    if not module.isidentifier():
        raise ScaffoldError(f"{module!r} cannot be a Python module name; pass --module")
    root = Path(course_root)
    values = {"id": exercise_id, "short": f"exercise{match.group(1)}", "module": module,
              "title": title or match.group(2).replace("_", " ").capitalize()}
    targets = {root / name.format(**values): text.format(**values) for name, text in FILES.items()}
    taken = [str(p) for p in targets if p.exists()]
    if taken:
        raise ScaffoldError(f"{exercise_id} already has files in {root}: {taken[0]}")
    written = []
    if not (root / COURSE_FILE).exists():
        targets[root / COURSE_FILE] = f'title = "{root.resolve().name}"\n'
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
