# expect: predict_no_grad
# message: predict_no_grad: detached the result only afterwards
"""A mistake: model(x) runs with autograd on and the output is detached afterwards."""

import torch


def gradient(f, x):
    """Return df/dx at x (same shape as x), leaving x untouched; the result does not require grad."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad.detach()


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
    return model(x).detach()
