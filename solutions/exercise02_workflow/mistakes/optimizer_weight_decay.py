# expect: optimizer_is_sgd
# may fail: workflow_learns
# message: optimizer_is_sgd: weight decay
# message: workflow_learns: held-out
"""Reference solution: exercise02_workflow."""

import torch
from torch import nn


def split(X, y, test_fraction=0.2, seed=0):
    """Random split seeded by `seed`: (X_train, y_train, X_test, y_test), n_test = int(len(X) * test_fraction)."""
    n_test = int(len(X) * test_fraction)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=generator)
    test_idx, train_idx = order[:n_test], order[n_test:]
    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]


class LinearModel(nn.Module):
    """Linear regression: (N, in_features) -> (N, 1)."""

    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x)


def make_loss_and_optimizer(model, lr):
    """Mean squared error and plain SGD over the model's parameters."""
    return nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.1)


def fit(model, X, y, loss_fn, optimizer, epochs):
    """Full-batch gradient descent, one step per epoch; the loss of each epoch before its step."""
    model.train()
    losses = []
    for _ in range(epochs):
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def evaluate(model, X, y, loss_fn):
    """The loss on (X, y) in eval mode, without recording a graph."""
    model.eval()
    with torch.no_grad():
        return loss_fn(model(X), y).item()


def save(model, path):
    """Write the model's state_dict (nothing else) to path."""
    torch.save(model.state_dict(), path)


def load(path, in_features):
    """A LinearModel(in_features) holding the weights saved at path."""
    model = LinearModel(in_features)
    model.load_state_dict(torch.load(path, weights_only=True))
    return model
