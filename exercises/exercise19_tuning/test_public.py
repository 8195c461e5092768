"""Public checks for exercise19. Run: pytest exercises/exercise19_tuning  (then: grade exercise19)"""

import pytest
import torch
from torch import nn

from tuning import Dropout, grid_search, l2_penalty, random_search, train_with_schedule


def test_l2_penalty_skips_biases_and_keeps_the_graph():
    model = nn.Linear(3, 2)
    penalty = l2_penalty(model, 0.1)
    assert isinstance(penalty, torch.Tensor) and penalty.dim() == 0
    assert torch.allclose(penalty, 0.1 * model.weight.pow(2).sum())
    penalty.backward()
    assert torch.allclose(model.weight.grad, 0.2 * model.weight.detach())
    assert model.bias.grad is None or not model.bias.grad.any()


def test_dropout_keep_rate_scale_and_eval():
    drop = Dropout(0.25)
    x = torch.ones(100_000)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.75))
    drop.eval()
    assert torch.equal(drop(x), x)
    with pytest.raises(ValueError):
        Dropout(1.5)


def test_train_with_schedule_steps_once_per_epoch():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    batches = [(torch.randn(4, 2), torch.randint(0, 2, (4,))) for _ in range(3)]
    losses = train_with_schedule(model, batches, nn.CrossEntropyLoss(), optimizer, scheduler, 2)
    assert len(losses) == 2 and all(isinstance(v, float) for v in losses)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


def test_grid_search_order_and_best():
    best, history = grid_search({"b": [1, 2], "a": [10, 20]}, lambda c: abs(c["a"] - 20) + c["b"])
    assert [config for config, _ in history] == [{"a": 10, "b": 1}, {"a": 10, "b": 2},
                                                 {"a": 20, "b": 1}, {"a": 20, "b": 2}]
    assert best == {"a": 20, "b": 1}


def test_random_search_is_reproducible_and_in_range():
    space = {"lr": (1e-4, 1e-1, "log"), "opt": ["sgd", "adam"]}
    first = random_search(space, 5, lambda c: c["lr"], seed=1)
    again = random_search(space, 5, lambda c: c["lr"], seed=1)
    assert first == again and len(first[1]) == 5
    assert all(1e-4 <= c["lr"] <= 1e-1 and c["opt"] in ("sgd", "adam") for c, _ in first[1])
