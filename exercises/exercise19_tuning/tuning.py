"""Exercise 19: regularisation, learning-rate schedules and hyperparameter search.

Fill in the functions and the class below; torch.nn.Dropout and F.dropout may not be
used. Read README.md first; run `grade exercise19` to grade.
"""

import itertools  # noqa: F401  (grid_search)
import math  # noqa: F401

import torch
from torch import nn


def l2_penalty(model, weight):
    """weight × the sum of squares of every parameter whose name ends in "weight" (a 0-dim tensor)."""
    # TODO: iterate model.named_parameters() (a shared parameter comes once); keep the result a
    # tensor in the graph (no .item()); torch.zeros(()) when there is no such parameter.
    raise NotImplementedError("TODO: l2_penalty")


class Dropout(nn.Module):
    """Inverted dropout: in train mode keep each element with probability 1 - p, scaled by 1/(1 - p)."""

    def __init__(self, p=0.5):
        super().__init__()
        # TODO: ValueError unless 0 <= p <= 1; remember p.
        raise NotImplementedError("TODO: Dropout.__init__")

    def forward(self, x):
        # TODO: eval mode or p = 0: x unchanged; p = 1: zeros; otherwise a fresh mask from torch's
        # global generator (torch.rand_like or torch.bernoulli) on x's device, kept elements / (1 - p).
        raise NotImplementedError("TODO: Dropout.forward")


def train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs):
    """`epochs` epochs of training, scheduler.step() after each; returns each epoch's mean batch loss."""
    # TODO: per epoch: model.train(); per batch zero_grad, loss, backward, optimizer.step();
    # then scheduler.step() once; record the mean of the epoch's batch losses (floats).
    raise NotImplementedError("TODO: train_with_schedule")


def grid_search(grid, objective):
    """Every combination of the grid (names sorted); returns (best config, [(config, loss), ...])."""
    # TODO: itertools.product over the value lists of sorted(grid); one objective call per config;
    # the best is the first config of lowest loss.
    raise NotImplementedError("TODO: grid_search")


def random_search(space, n_trials, objective, seed=0):
    """n_trials configs drawn from space with a generator seeded with seed; returns as grid_search."""
    # TODO: torch.Generator().manual_seed(seed); a list: one of its choices uniformly; (low, high,
    # "log"): log-uniform; (low, high, "linear"): uniform; exactly n_trials objective calls.
    raise NotImplementedError("TODO: random_search")
