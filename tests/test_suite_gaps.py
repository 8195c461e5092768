"""The suites' shared helpers for the gaps of issue 13: a forward watched for a graph, and what
the errors of device checks on meta are taken to mean (meta_values: test_meta_values.py)."""

import pytest
import torch
from torch import nn

from grader.suites.worker_side import DeviceRun, attempt, autograd_facts, run_on
from grader.suites.trusted_side import graph_mistake, mixed_devices


def test_a_graph_built_then_detached_is_seen_in_the_forward():
    model = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    built = autograd_facts(model(x))
    assert built.graph and built.grad_enabled
    message = graph_mistake([built], "predict", returned_graph=False)
    assert "detached the result only afterwards" in message and "torch.no_grad()" in message
    for mode in (torch.no_grad(), torch.inference_mode()):
        with mode:
            assert graph_mistake([autograd_facts(model(x))], "predict") is None
    model.requires_grad_(False)  # no parameter to record a graph for: none is built
    assert graph_mistake([autograd_facts(model(x))], "predict") is None


def test_an_error_is_a_device_mistake_only_when_two_devices_met():
    _, error = attempt(lambda: torch.zeros(3) + torch.ones(3, device="meta"), "meta")
    assert mixed_devices(error)
    _, error = attempt(lambda: torch.ones(3, device="meta").sum().item())
    assert error and not mixed_devices(error)
    _, error = attempt(lambda: torch.ones(2, 3) @ torch.ones(2, 3))
    assert error and not mixed_devices(error)
    assert run_on(lambda: (torch.ones(2, device="meta") * 2, None), "meta") == DeviceRun(error=None, device="meta")


def test_an_unfinished_stub_is_not_a_finding():
    def stub():
        raise NotImplementedError("TODO: write it")

    with pytest.raises(NotImplementedError):
        attempt(stub, "meta")
