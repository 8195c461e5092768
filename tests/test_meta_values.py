"""Device checks run the submission on the meta device under `meta_values`: whatever operators
a correct submission uses, it runs to its end there with its tensors on meta (as on a GPU),
and a tensor of another device meeting them still fails, as on a GPU."""

from __future__ import annotations

import pytest
import torch

from grader.suites.worker_side import meta_values

X = torch.randn(4, 5, device="meta")
MASK = torch.ones(4, 5, dtype=torch.bool, device="meta")
IDX = torch.ones(4, dtype=torch.long, device="meta")

# operators meta cannot run by itself: data-dependent shapes, or no meta kernel in torch
OPERATORS = {
    "boolean indexing": lambda: X[MASK],
    "nonzero": lambda: MASK.nonzero(),
    "masked_select": lambda: X.masked_select(MASK),
    "unique": lambda: torch.unique(IDX),
    "bincount": lambda: torch.bincount(IDX),
    "combinations": lambda: torch.combinations(IDX),
    "where(condition)": lambda: torch.where(MASK)[0],
}


@pytest.mark.parametrize("name", OPERATORS)
def test_an_operator_meta_lacks_runs_and_stays_on_meta(name):
    with pytest.raises(NotImplementedError):
        OPERATORS[name]()  # what torch does without meta_values
    with meta_values():
        out = OPERATORS[name]()
    assert out.device.type == "meta"


def test_values_read_from_meta_are_ones_inside_only():
    x = torch.ones(2, 3, device="meta")
    with meta_values():
        assert x.sum().item() == 1.0 and bool(x.sum() > 0) and x.tolist() == [[1.0] * 3] * 2
        assert x.cpu().device.type == "cpu" and x.to(torch.float64).is_meta
        assert torch.equal(X, X)
        with pytest.raises(RuntimeError, match="device"):
            torch.zeros(3) + x.sum(0)
    with pytest.raises(RuntimeError, match="meta"):
        x.sum().item()


def test_a_cpu_tensor_meeting_meta_tensors_still_fails_as_on_a_gpu():
    with meta_values(), pytest.raises(RuntimeError, match="same device"):
        X.masked_select(torch.ones(4, 5, dtype=torch.bool))
