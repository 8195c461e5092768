"""Exercise 01: autograd basics.

Fill in the three functions below. Read README.md first; run `grade exercise01` to grade.
"""

import torch


def gradient(f, x):
    """Return df/dx at x.

    f maps a float tensor to a scalar tensor. The result has the same shape as x and does
    not require grad. x is left untouched: its requires_grad, .grad and values are as
    before the call.
    """
    # TODO: work on a copy of x that requires grad, call f, then backward or autograd.grad.
    raise NotImplementedError("TODO: gradient")


def fit_line(x, y, lr=0.1, steps=100):
    """Fit y ≈ w·x + b by gradient descent, starting from w = b = 0.

    x and y are 1-D tensors of the same length. Use 0-dim leaf tensors w and b with
    requires_grad=True, the mean squared error as the loss, the update `p -= lr * p.grad`
    inside `torch.no_grad()`, and clear the gradients every step.

    Returns (w, b, losses): w and b detached 0-dim tensors; losses[i] is the loss (a
    Python float) before the i-th update, so len(losses) == steps.
    """
    # TODO: the loop: forward, loss, record loss.item(), backward, update, clear grads.
    raise NotImplementedError("TODO: fit_line")


def predict_no_grad(model, x):
    """Return model(x) computed without recording a graph."""
    # TODO: use torch.no_grad() (or torch.inference_mode()).
    raise NotImplementedError("TODO: predict_no_grad")
