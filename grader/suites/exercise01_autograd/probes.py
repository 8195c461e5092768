"""Probes for exercise01 (run in the worker on the submission; return plain data)."""

import torch
from torch import nn

from grader.suites.worker_side import autograd_facts, describe


def _cubic(x):
    return (x ** 3).sum()


def _wavy(x):
    return (torch.sin(x) * x).sum() + (x ** 2).mean()


FUNCTIONS = {"cubic": _cubic, "wavy": _wavy}


def gradient_call(mod, fn, requires_grad, with_grad):
    """Call gradient(f, x) and report the result and what became of x."""
    torch.manual_seed(1)
    x = torch.randn(3, 4)
    if requires_grad:
        x.requires_grad_(True)
        if with_grad:
            x.grad = torch.full_like(x, 7.0)
    before = x.detach().clone()
    result = mod.gradient(FUNCTIONS[fn], x)
    return {
        "result": describe(result),
        "x_values_kept": torch.equal(x.detach(), before),
        "x_requires_grad": x.requires_grad,
        "x_grad": None if x.grad is None else x.grad.detach().clone(),
        "grad_enabled_after": torch.is_grad_enabled(),
    }


def line_data():
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-2, 2, 40)
    y = 2.5 * x - 1.0 + 0.3 * torch.randn(40, generator=g)
    return x, y


def _as_float(v):
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach().reshape(()))
    return float(v) if isinstance(v, (int, float)) else None


def fit_line_call(mod, lr, steps):
    x, y = line_data()
    w, b, losses = mod.fit_line(x, y, lr=lr, steps=steps)
    is_seq = isinstance(losses, (list, tuple))
    return {"x": x, "y": y, "w": describe(w), "b": describe(b),
            "losses": [_as_float(v) for v in losses] if is_seq else [],
            "losses_type": type(losses).__name__,
            "loss_item_types": sorted({type(v).__name__ for v in losses}) if is_seq else []}


def fit_line_defaults(mod):
    x, y = line_data()
    w, b, losses = mod.fit_line(x, y)
    return {"w": describe(w), "b": describe(b), "n_losses": len(losses)}


class Spy(nn.Module):
    """Wraps a module; records at every forward whether autograd recorded a graph."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.facts = []

    def forward(self, x):
        out = self.inner(x)
        self.facts.append(autograd_facts(out))
        return out


def predict_call(mod):
    torch.manual_seed(0)
    model = Spy(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)))
    x = torch.randn(4, 3)
    out = mod.predict_no_grad(model, x)
    return {"out": describe(out), "grad_enabled_after": torch.is_grad_enabled(),
            "params_require_grad": all(p.requires_grad for p in model.parameters()),
            "training": model.training, "facts": model.facts}
