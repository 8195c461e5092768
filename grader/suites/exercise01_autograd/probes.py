"""Probes for exercise01 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import AutogradFacts, Described, autograd_facts, describe


# ---- what the probes return ----

@dataclass
class GradientCall:
    """gradient(f, x): what it returned, and what became of x."""
    result: Described
    x_values_kept: bool
    x_requires_grad: bool
    x_grad: Tensor | None
    grad_enabled_after: bool


@dataclass
class LineFit:
    """fit_line(x, y, lr, steps) on the line data: the data, w, b and the losses."""
    x: Tensor
    y: Tensor
    w: Described
    b: Described
    losses: list[float | None]  # each as a number (None: not one); empty unless a list or tuple
    losses_type: str
    loss_item_types: list[str]  # the type names found among the losses, sorted


@dataclass
class LineDefaults:
    """fit_line(x, y) with its defaults."""
    w: Described
    b: Described
    n_losses: int


@dataclass
class Prediction:
    """predict_no_grad(model, x) on a spy model."""
    out: Described
    grad_enabled_after: bool
    params_require_grad: bool
    training: bool
    facts: list[AutogradFacts]  # at each forward


def _cubic(x):
    return (x ** 3).sum()


def _wavy(x):
    return (torch.sin(x) * x).sum() + (x ** 2).mean()


FUNCTIONS = {"cubic": _cubic, "wavy": _wavy}


def gradient_call(mod, fn, requires_grad, with_grad) -> GradientCall:
    """Call gradient(f, x) and report the result and what became of x."""
    torch.manual_seed(1)
    x = torch.randn(3, 4)
    if requires_grad:
        x.requires_grad_(True)
        if with_grad:
            x.grad = torch.full_like(x, 7.0)
    before = x.detach().clone()
    result = mod.gradient(FUNCTIONS[fn], x)
    return GradientCall(
        result=describe(result),
        x_values_kept=torch.equal(x.detach(), before),
        x_requires_grad=x.requires_grad,
        x_grad=None if x.grad is None else x.grad.detach().clone(),
        grad_enabled_after=torch.is_grad_enabled(),
    )


def line_data():
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(-2, 2, 40)
    y = 2.5 * x - 1.0 + 0.3 * torch.randn(40, generator=g)
    return x, y


def _as_float(v):
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach().reshape(()))
    return float(v) if isinstance(v, (int, float)) else None


def fit_line_call(mod, lr, steps) -> LineFit:
    x, y = line_data()
    w, b, losses = mod.fit_line(x, y, lr=lr, steps=steps)
    is_seq = isinstance(losses, (list, tuple))
    return LineFit(x=x, y=y, w=describe(w), b=describe(b),
                   losses=[_as_float(v) for v in losses] if is_seq else [],
                   losses_type=type(losses).__name__,
                   loss_item_types=sorted({type(v).__name__ for v in losses}) if is_seq else [])


def fit_line_defaults(mod) -> LineDefaults:
    x, y = line_data()
    w, b, losses = mod.fit_line(x, y)
    return LineDefaults(w=describe(w), b=describe(b), n_losses=len(losses))


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


def predict_call(mod) -> Prediction:
    torch.manual_seed(0)
    model = Spy(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)))
    x = torch.randn(4, 3)
    out = mod.predict_no_grad(model, x)
    return Prediction(out=describe(out), grad_enabled_after=torch.is_grad_enabled(),
                      params_require_grad=all(p.requires_grad for p in model.parameters()),
                      training=model.training, facts=model.facts)
