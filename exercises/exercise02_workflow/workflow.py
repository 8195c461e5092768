"""Exercise 02: the PyTorch workflow.

The six pillars on linear regression: data (split), model (LinearModel), loss and optimizer,
training (fit), evaluation (evaluate) and saving (save / load).
Read README.md first; run `grade exercise02` to grade.
"""

import torch
from torch import nn


def split(X, y, test_fraction=0.2, seed=0):
    """Split (X, y) at random into (X_train, y_train, X_test, y_test).

    The shuffle is seeded by `seed` (same seed, same split). The test set has
    n_test = int(len(X) * test_fraction) rows, the training set the rest. Rows of X and y
    stay paired; train and test are disjoint and together hold every row.
    """
    # TODO: a permutation of the row indices from torch.randperm with a
    # torch.Generator().manual_seed(seed); the first n_test indices are the test set.
    raise NotImplementedError("TODO: split")


class LinearModel(nn.Module):
    """Linear regression: forward maps (N, in_features) to (N, 1)."""

    def __init__(self, in_features):
        super().__init__()
        # TODO: one nn.Linear layer with in_features inputs and 1 output.
        raise NotImplementedError("TODO: LinearModel.__init__")

    def forward(self, x):
        # TODO: apply the layer.
        raise NotImplementedError("TODO: LinearModel.forward")


def make_loss_and_optimizer(model, lr):
    """Return (loss_fn, optimizer): the mean squared error and plain SGD over model.parameters() with lr."""
    # TODO: nn.MSELoss() and torch.optim.SGD.
    raise NotImplementedError("TODO: make_loss_and_optimizer")


def fit(model, X, y, loss_fn, optimizer, epochs):
    """Full-batch gradient descent: one optimizer step per epoch, model in train mode.

    y has shape (N, 1). Returns a list of Python floats: the loss of each epoch, computed
    before that epoch's step.
    """
    # TODO: model.train(); each epoch: forward, loss, zero_grad, backward, step; record loss.item().
    raise NotImplementedError("TODO: fit")


def evaluate(model, X, y, loss_fn):
    """Return loss_fn(model(X), y) as a Python float, in eval mode, without recording a graph."""
    # TODO: model.eval() and torch.no_grad().
    raise NotImplementedError("TODO: evaluate")


def save(model, path):
    """Save the model's state_dict (and nothing else) to path."""
    # TODO: torch.save(...) of the state_dict, not of the model object.
    raise NotImplementedError("TODO: save")


def load(path, in_features):
    """Return a LinearModel(in_features) holding the weights saved at path.

    The file is read with torch.load(path, weights_only=True).
    """
    # TODO: build the model, then load_state_dict.
    raise NotImplementedError("TODO: load")
