"""Public checks for exercise01. Run: pytest exercises/exercise01_autograd  (then: grade exercise01)"""

import torch
from torch import nn

from autograd_basics import fit_line, gradient, predict_no_grad


def test_gradient_of_a_square():
    x = torch.tensor([1.0, -2.0, 3.0])
    g = gradient(lambda t: (t ** 2).sum(), x)
    torch.testing.assert_close(g, 2 * x)
    assert not g.requires_grad and not x.requires_grad and x.grad is None


def test_fit_line_learns_a_line():
    x = torch.linspace(-1, 1, 20)
    w, b, losses = fit_line(x, 3 * x + 0.5, lr=0.5, steps=200)
    assert len(losses) == 200 and losses[-1] < losses[0]
    torch.testing.assert_close((w, b), (torch.tensor(3.0), torch.tensor(0.5)), atol=1e-2, rtol=0)


def test_predict_no_grad_has_no_graph():
    out = predict_no_grad(nn.Linear(2, 1), torch.ones(3, 2))
    assert out.shape == (3, 1) and out.grad_fn is None
