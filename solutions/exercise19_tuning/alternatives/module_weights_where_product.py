"""Correct, written another way: modules' .weight attributes, torch.where on rand_like, itertools.product,
10 ** a uniform exponent drawn in float32."""

import itertools
import math

import torch
from torch import nn


def l2_penalty(model, weight):
    seen, squares = set(), []
    for module in model.modules():
        w = getattr(module, "weight", None)
        if isinstance(w, nn.Parameter) and id(w) not in seen:  # a tied weight counts once
            seen.add(id(w))
            squares.append(w.square().sum())
    if not squares:
        return torch.zeros(())
    return weight * torch.stack(squares).sum()


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not (0 <= p <= 1):
            raise ValueError(f"invalid dropout probability {p}")
        self.p = p

    def forward(self, x):
        if self.training and self.p > 0:
            keep = 1 - self.p
            if keep == 0:
                return x * 0
            return torch.where(torch.rand_like(x) < keep, x / keep, torch.zeros_like(x))
        return x


def train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs):
    model.train()
    result = []
    for _ in range(epochs):
        batch_losses = []
        for batch in loader:
            inputs, targets = batch
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach())
        scheduler.step()
        result.append(torch.stack(batch_losses).mean().item())
    return result


def grid_search(grid, objective):
    names = sorted(grid.keys())
    history = [(dict(zip(names, combo)), None) for combo in itertools.product(*[grid[n] for n in names])]
    history = [(config, objective(config)) for config, _ in history]
    losses = [loss for _, loss in history]
    return history[losses.index(min(losses))][0], history


def random_search(space, n_trials, objective, seed=0):
    gen = torch.Generator().manual_seed(seed)

    def draw(spec):
        if isinstance(spec, list):
            return spec[torch.randperm(len(spec), generator=gen)[0].item()]
        low, high, scale = spec
        if scale == "log":
            exponent = torch.empty(()).uniform_(math.log10(low), math.log10(high), generator=gen).item()
            return 10 ** exponent
        return torch.empty(()).uniform_(low, high, generator=gen).item()

    history = []
    for trial in range(n_trials):
        config = {name: draw(space[name]) for name in sorted(space)}
        history.append((config, objective(config)))
    best = history[0]
    for entry in history[1:]:
        if entry[1] < best[1]:
            best = entry
    return best[0], history
