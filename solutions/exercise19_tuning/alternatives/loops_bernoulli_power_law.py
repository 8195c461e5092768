"""Correct, written another way: explicit loops, torch.bernoulli, low * (high / low) ** u."""

import torch
from torch import nn


def l2_penalty(model, weight):
    total = None
    for name, param in model.named_parameters():
        if name.endswith("weight"):
            square = (param * param).sum()
            total = square if total is None else total + square
    if total is None:
        return torch.zeros(())
    return total * weight


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError("p must be in [0, 1]")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x.clone()
        if self.p == 1:
            return torch.zeros_like(x)
        keep = 1 - self.p
        mask = torch.bernoulli(torch.full_like(x, keep))
        return x * mask / keep


def train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs):
    means = []
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for inputs, targets in loader:
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += float(loss)
            count += 1
        scheduler.step()
        means.append(total / count)
    return means


def grid_search(grid, objective):
    configs = [{}]
    for name in sorted(grid):  # nested loops, one level per name
        configs = [{**config, name: value} for config in configs for value in grid[name]]
    history = []
    best, best_loss = None, None
    for config in configs:
        loss = objective(config)
        history.append((config, loss))
        if best_loss is None or loss < best_loss:
            best, best_loss = config, loss
    return best, history


def random_search(space, n_trials, objective, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    history = []
    for _ in range(n_trials):
        config = {}
        for name in sorted(space):
            spec = space[name]
            if isinstance(spec, tuple):
                low, high, kind = spec
                u = float(torch.rand(1, generator=g, dtype=torch.float64))
                config[name] = low * (high / low) ** u if kind == "log" else low + (high - low) * u
            else:
                config[name] = spec[torch.randint(0, len(spec), (1,), generator=g).item()]
        history.append((config, objective(config)))
    best = min(history, key=lambda entry: entry[1])[0]
    return best, history
