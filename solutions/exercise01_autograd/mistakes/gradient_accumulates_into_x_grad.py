# expect: gradient_values, gradient_leaves_x_alone
# message: gradient_values: accumulated
# message: gradient_leaves_x_alone: left a .grad on x
"""A mistake: backward on the caller's x, so its existing .grad is added to the result."""

import torch


def gradient(f, x):
    """Return df/dx at x (same shape as x), leaving x untouched; the result does not require grad."""
    was_tracked = x.requires_grad
    x.requires_grad_(True)
    f(x).backward()
    grad = x.grad.detach().clone()
    x.requires_grad_(was_tracked)
    return grad


def fit_line(x, y, lr=0.1, steps=100):
    """Fit y ≈ w·x + b by gradient descent from w = b = 0; return (w, b, losses)."""
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
    return w.detach(), b.detach(), losses


def predict_no_grad(model, x):
    """model(x) computed without recording a graph."""
    with torch.no_grad():
        return model(x)
