"""Public checks for exercise11. Run: pytest exercises/exercise11_checkpoint  (then: grade exercise11)"""

import io

import torch
import torch.nn.functional as F
from torch import nn

from checkpoint import load_checkpoint, save_checkpoint


def _setup(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return model, optimizer, scheduler


def _epoch(model, optimizer, scheduler):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(16, 3, generator=g), torch.randint(0, 2, (16,), generator=g)
    model.train()
    for i in range(0, 16, 4):
        optimizer.zero_grad()
        F.cross_entropy(model(X[i:i + 4]), y[i:i + 4]).backward()
        optimizer.step()
    scheduler.step()


def test_round_trip_into_a_fresh_model(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    model, optimizer, scheduler = _setup(0)
    _epoch(model, optimizer, scheduler)
    save_checkpoint(path, model, optimizer, 4, scheduler=scheduler)
    torch.load(path, weights_only=True)  # must load: state_dicts and numbers only, no pickled objects
    fresh, _, _ = _setup(1)
    assert load_checkpoint(path, fresh) == 4
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name


def test_resumed_training_matches_uninterrupted(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    straight = _setup(0)
    for _ in range(3):
        _epoch(*straight)

    first = _setup(0)
    _epoch(*first)
    save_checkpoint(path, *first[:2], 0, scheduler=first[2])
    resumed = _setup(1)
    epoch = load_checkpoint(path, resumed[0], resumed[1], scheduler=resumed[2])
    for _ in range(epoch + 1, 3):
        _epoch(*resumed)
    for a, b in zip(straight[0].parameters(), resumed[0].parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert resumed[1].param_groups[0]["lr"] == straight[1].param_groups[0]["lr"]


def test_failed_save_keeps_the_older_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "ckpt.pt")
    model, optimizer, scheduler = _setup(0)
    save_checkpoint(path, model, optimizer, 1, scheduler=scheduler)
    with open(path, "rb") as f:
        old = f.read()

    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):  # writes half of the file, then fails
        buf = io.BytesIO()
        real_save(obj, buf, *args, **kwargs)
        half = buf.getvalue()[: len(buf.getvalue()) // 2]
        if isinstance(f, str) or hasattr(f, "__fspath__"):
            with open(f, "wb") as out:
                out.write(half)
        else:
            f.write(half)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    _epoch(model, optimizer, scheduler)
    try:
        save_checkpoint(path, model, optimizer, 2, scheduler=scheduler)
    except OSError:
        pass
    with open(path, "rb") as f:
        assert f.read() == old, "the older checkpoint was damaged by a failed save"
