# expect: random_selection
# message: random_selection: configs tied at the lowest loss
"""Mistake: random last of ties."""

import itertools
import math

import torch
from torch import nn


def l2_penalty(model, weight):
    """weight × the sum of squares of every parameter whose name ends in "weight" (a 0-dim tensor)."""
    squares = [p.pow(2).sum() for name, p in model.named_parameters() if name.endswith("weight")]
    if not squares:
        return torch.zeros(())
    return weight * sum(squares)


class Dropout(nn.Module):
    """Inverted dropout: in train mode keep each element with probability 1 - p, scaled by 1/(1 - p)."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = 1.0 - self.p
        mask = torch.rand_like(x) < keep
        return x * mask / keep


def train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs):
    """`epochs` epochs of training, scheduler.step() after each; returns each epoch's mean batch loss."""
    history = []
    for _ in range(epochs):
        model.train()
        losses = []
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        history.append(sum(losses) / len(losses))
    return history


def _select(history):
    """The first config of lowest loss, and the history."""
    best_config, best_loss = None, math.inf
    for config, loss in history:
        if best_config is None or loss < best_loss:
            best_config, best_loss = config, loss
    return best_config, history


def grid_search(grid, objective):
    """Every combination of the grid (names sorted); returns (best config, [(config, loss), ...])."""
    names = sorted(grid)
    history = []
    for values in itertools.product(*(grid[name] for name in names)):
        config = dict(zip(names, values))
        history.append((config, objective(config)))
    return _select(history)


def _sample(spec, generator):
    if isinstance(spec, list):
        return spec[int(torch.randint(len(spec), (), generator=generator))]
    low, high, scale = spec
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    if scale == "log":
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def random_search(space, n_trials, objective, seed=0):
    """n_trials configs drawn from space with a generator seeded with seed; returns as grid_search."""
    generator = torch.Generator().manual_seed(seed)
    names = sorted(space)
    history = []
    for _ in range(n_trials):
        config = {name: _sample(space[name], generator) for name in names}
        history.append((config, objective(config)))
    best = min(reversed(history), key=lambda entry: entry[1])[0]
    return best, history
