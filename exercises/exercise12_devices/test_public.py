"""Public checks for exercise12. Run: pytest exercises/exercise12_devices  (then: grade exercise12)"""

from collections import namedtuple

import pytest
import torch
from torch import nn

from devices import move_to, pick_device, train_step

META = torch.device("meta")
Pair = namedtuple("Pair", "inputs targets")


def test_pick_device_returns_a_torch_device():
    device = pick_device()
    assert isinstance(device, torch.device)
    assert device.type in ("cpu", "cuda", "mps")
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError):
            pick_device("cuda")


def test_move_to_meta_keeps_the_structure():
    x, y = torch.randn(2, 3), torch.tensor([0, 1])
    obj = {"batch": Pair((x, [y, 3]), y), "name": "b0", "extra": None}
    moved = move_to(obj, META)
    assert type(moved) is dict and type(moved["batch"]) is Pair
    assert type(moved["batch"].inputs) is tuple and type(moved["batch"].inputs[1]) is list
    assert moved["batch"].inputs[0].device == META and moved["batch"].targets.device == META
    assert moved["batch"].inputs[1][0].dtype == torch.long
    assert moved["batch"].inputs[1][1] == 3 and moved["name"] == "b0" and moved["extra"] is None
    assert x.device.type == "cpu" and obj["batch"].inputs[0] is x   # the input is unchanged


class DictModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, inputs):
        return self.linear(inputs["x"])


def _batch():
    g = torch.Generator().manual_seed(0)
    return {"x": torch.randn(8, 3, generator=g)}, torch.randint(0, 2, (8,), generator=g)


def test_train_step_runs_on_meta_and_returns_a_detached_tensor():
    torch.manual_seed(0)
    model = DictModel().to(META)           # no values, but forward, backward and step all run
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = train_step(model, _batch(), nn.CrossEntropyLoss(), optimizer, META)
    assert isinstance(loss, torch.Tensor)
    assert loss.device == META and loss.shape == () and not loss.requires_grad


def test_train_step_learns_on_cpu():
    torch.manual_seed(0)
    model = DictModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    batch = _batch()
    losses = [float(train_step(model, batch, nn.CrossEntropyLoss(), optimizer, torch.device("cpu")))
              for _ in range(20)]
    assert losses[-1] < losses[0]
