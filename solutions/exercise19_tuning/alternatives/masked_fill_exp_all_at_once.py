"""Correct, written another way: masked_fill, exp of a uniform log drawn with all of a trial's uniforms at once,
a running mean per epoch, recursion over the grid's names."""

import math

import torch
from torch import nn


def l2_penalty(model, weight):
    decayed = [p for n, p in model.named_parameters() if n.rsplit(".", 1)[-1].endswith("weight")]
    return weight * sum(p.pow(2).sum() for p in decayed) if decayed else torch.zeros(())


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        if p < 0.0 or p > 1.0:
            raise ValueError("dropout probability out of range")
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        if self.p >= 1.0:
            return x.mul(0)
        drop = torch.rand_like(x) >= 1.0 - self.p
        return x.masked_fill(drop, 0.0) / (1.0 - self.p)


def train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs):
    out = []
    for _ in range(epochs):
        model.train()
        mean = 0.0
        for i, (inputs, targets) in enumerate(loader, start=1):
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            loss.backward()
            optimizer.step()
            mean += (loss.item() - mean) / i
        out.append(mean)
        scheduler.step()
    return out


def _combinations(grid, names):
    if not names:
        yield {}
        return
    for value in grid[names[0]]:
        for rest in _combinations(grid, names[1:]):
            yield {names[0]: value, **rest}


def grid_search(grid, objective):
    history = [(config, objective(config)) for config in _combinations(grid, sorted(grid))]
    best = min(range(len(history)), key=lambda i: (history[i][1], i))
    return history[best][0], history


def random_search(space, n_trials, objective, seed=0):
    generator = torch.Generator().manual_seed(seed)
    names = sorted(space)
    history = []
    for _ in range(n_trials):
        u = torch.rand(len(names), generator=generator, dtype=torch.float64).tolist()
        config = {}
        for name, v in zip(names, u):
            spec = space[name]
            if isinstance(spec, list):
                config[name] = spec[min(int(v * len(spec)), len(spec) - 1)]
            elif spec[2] == "log":
                config[name] = math.exp(math.log(spec[0]) + v * math.log(spec[1] / spec[0]))
            else:
                config[name] = spec[0] + v * (spec[1] - spec[0])
        history.append((config, objective(config)))
    best_config, best_loss = history[0] if history else (None, None)
    for config, loss in history:
        if loss < best_loss:
            best_config, best_loss = config, loss
    return best_config, history
