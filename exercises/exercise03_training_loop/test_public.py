"""Public checks for exercise03. Run: pytest exercises/exercise03_training_loop  (then: grade exercise03)"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from training_loop import evaluate, train_epoch, train_step


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 4, generator=g)
    y = torch.randint(0, 3, (10,), generator=g)
    return X, y


def test_train_step_returns_a_float_and_learns():
    torch.manual_seed(0)
    X, y = _data()
    model = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = [train_step(model, (X, y), nn.CrossEntropyLoss(), optimizer) for _ in range(20)]
    assert all(type(v) is float for v in losses)
    assert losses[-1] < losses[0]


def test_train_epoch_uses_train_mode_and_returns_the_mean():
    torch.manual_seed(0)
    X, y = _data()
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.0))
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay put
    loader = DataLoader(TensorDataset(X, y), batch_size=4)   # batches of 4, 4 and 2
    mean = train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer)
    assert model.training
    with torch.no_grad():
        expected = sum(nn.functional.cross_entropy(model(x), t).item() for x, t in loader) / 3
    assert abs(mean - expected) < 1e-5


def test_evaluate_averages_over_samples():
    torch.manual_seed(0)
    X, y = _data()
    model = nn.Linear(4, 3)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)   # an uneven last batch
    loss, accuracy = evaluate(model, loader, nn.CrossEntropyLoss())
    assert not model.training
    with torch.no_grad():
        out = model(X)
    assert abs(loss - nn.functional.cross_entropy(out, y).item()) < 1e-5
    assert abs(accuracy - (out.argmax(1) == y).float().mean().item()) < 1e-6
