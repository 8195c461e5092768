"""Public checks for exercise10. Run: pytest exercises/exercise10_accumulation  (then: grade exercise10)"""

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from accumulation import online_step, train_accumulated


def _data(n):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def test_one_group_equals_one_big_batch():
    torch.manual_seed(0)
    X, y = _data(12)
    model = nn.Linear(4, 3)
    big = copy.deepcopy(model)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)   # 3 micro-batches of 4
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    steps = train_accumulated(model, loader, nn.CrossEntropyLoss(), optimizer, accum_steps=3)
    assert steps == 1
    big_optimizer = torch.optim.SGD(big.parameters(), lr=0.5)
    nn.functional.cross_entropy(big(X), y).backward()          # the same 12 samples as one batch
    big_optimizer.step()
    for p, q in zip(model.parameters(), big.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_trailing_group_is_stepped():
    torch.manual_seed(0)
    X, y = _data(20)
    model = nn.Linear(4, 3)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)   # 5 micro-batches: groups of 2, 2 and 1
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    assert train_accumulated(model, loader, nn.CrossEntropyLoss(), optimizer, accum_steps=2) == 3


def test_online_step_regression():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.tensor([1.0, -1.0, 2.0]), torch.tensor(0.5)   # x (features,), y 0-dim
    with torch.no_grad():
        expected = (model(x.unsqueeze(0)).squeeze() - y) ** 2
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = online_step(model, x, y, nn.MSELoss(), optimizer)
    assert type(loss) is float
    assert abs(loss - expected.item()) < 1e-5
    with torch.no_grad():
        after = (model(x.unsqueeze(0)).squeeze() - y) ** 2
    assert after < expected


def test_online_step_classification():
    torch.manual_seed(0)
    model = nn.Linear(3, 4)
    x, y = torch.tensor([1.0, -1.0, 2.0]), torch.tensor(2)     # y: a 0-dim long class index
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = [online_step(model, x, y, nn.CrossEntropyLoss(), optimizer) for _ in range(5)]
    assert all(type(v) is float for v in losses)
    assert losses[-1] < losses[0]
