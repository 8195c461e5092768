"""The small pretrained model shipped with exercise13 (no download needed).

    from pretrained import load_pretrained
    model = load_pretrained()          # a SmallNet with the weights of pretrained.pt

SmallNet was "pretrained" on a seeded toy task: 4 input features, 3 classes. Running
`python pretrained.py` recreates pretrained.pt exactly (you never need to).
"""

from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name("pretrained.pt")
IN_FEATURES, HIDDEN, NUM_CLASSES = 4, 16, 3


class SmallNet(nn.Module):
    """A backbone `features` (two Linear + BatchNorm1d + ReLU blocks) and a linear head `fc`."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Linear(IN_FEATURES, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.ReLU(),
        )
        self.fc = nn.Linear(HIDDEN, NUM_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


def load_pretrained(path=None):
    """A SmallNet with the shipped weights (pretrained.pt next to this file, or `path`)."""
    model = SmallNet()
    state = torch.load(WEIGHTS if path is None else path, weights_only=True)
    model.load_state_dict(state)
    return model


def toy_task(n=256, seed=0):
    """The pretraining task: 4 features, the class is which of 3 fixed directions scores highest."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, IN_FEATURES, generator=g)
    directions = torch.randn(IN_FEATURES, NUM_CLASSES, generator=g)
    return X, (X @ directions).argmax(dim=1)


def _pretrain(steps=60):
    torch.manual_seed(0)
    model = SmallNet()
    X, y = toy_task()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for step in range(steps):
        batch = slice((step * 32) % len(X), (step * 32) % len(X) + 32)
        loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


if __name__ == "__main__":
    net = _pretrain()
    torch.save(net.state_dict(), WEIGHTS)
    net.eval()
    X, y = toy_task()
    with torch.no_grad():
        accuracy = (net(X).argmax(dim=1) == y).float().mean().item()
    print(f"wrote {WEIGHTS} ({WEIGHTS.stat().st_size} bytes); accuracy on the toy task {accuracy:.2f}")
