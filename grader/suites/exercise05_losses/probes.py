"""Probes for exercise05 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import Described, DeviceRun, describe, run_on, warm_meta_values


# ---- what the probes return ----

@dataclass
class Gradient:
    """What backward() of the loss left on its input (`_grad_of`)."""
    status: str  # ok, not-a-tensor, not-scalar, no-graph or no-grad
    grad: Tensor | None = None  # the input's .grad, when status is ok


@dataclass
class HuberCall:
    """HuberLoss on fixed data: the data, the loss, its gradient and the loss of each element alone."""
    pred: Tensor
    target: Tensor
    loss: Described
    grad: Gradient
    elementwise: list[float | None]  # None where the loss of one element is not a 1-element tensor
    is_module: bool


@dataclass
class FocalCall:
    """FocalLoss on fixed data: the data, the loss, its gradient and the loss of each sample alone."""
    logits: Tensor
    target: Tensor
    loss: Described
    grad: Gradient
    per_sample: list[float | None]  # None where the loss of one sample is not a 1-element tensor
    is_module: bool


@dataclass
class MaskedCall:
    """masked_mse on fixed data: the data, the loss and its gradient."""
    pred: Tensor
    target: Tensor
    mask: Tensor
    loss: Described
    grad: Gradient


def warm():
    """Called once in the zygote."""
    warm_meta_values()


def _grad_of(loss, leaf) -> Gradient:
    """Backpropagate a described-to-be scalar loss; the leaf's gradient (or why there is none)."""
    if not isinstance(loss, torch.Tensor):
        return Gradient("not-a-tensor")
    if loss.numel() != 1:
        return Gradient("not-scalar")
    if not loss.requires_grad:
        return Gradient("no-graph")
    loss.reshape(()).backward()
    if leaf.grad is None:
        return Gradient("no-grad")
    return Gradient("ok", leaf.grad.detach().clone())


def _float(v):
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach().reshape(()))
    return None


def huber_data(delta):
    """Targets on a grid of 1/8 and errors that are exact in float32, several exactly at ±delta."""
    g = torch.Generator().manual_seed(0)
    exact = [0.0, delta, -delta, delta / 2, -delta / 2, 2 * delta, -2 * delta, 0.125, -0.125,
             delta + 0.375, -(delta + 0.375), delta, -delta, 0.0]
    err = torch.cat([torch.tensor(exact), torch.randn(10, generator=g) * 2 * delta])
    target = torch.randint(-16, 17, (len(err),), generator=g).float() / 8
    return target + err, target


def huber_call(mod, delta=None, shape=None) -> HuberCall:
    """HuberLoss(delta=delta) (default when None) on fixed data: loss, d loss / d pred, per-element losses."""
    pred, target = huber_data(1.0 if delta is None else delta)
    if shape is not None:
        pred, target = pred.reshape(shape), target.reshape(shape)
    loss_fn = mod.HuberLoss() if delta is None else mod.HuberLoss(delta=delta)
    leaf = pred.clone().requires_grad_(True)
    loss = loss_fn(leaf, target)
    elementwise = [_float(loss_fn(p.reshape(1), t.reshape(1)))
                   for p, t in zip(pred.reshape(-1), target.reshape(-1))]
    return HuberCall(pred=pred, target=target, loss=describe(loss), grad=_grad_of(loss, leaf),
                     elementwise=elementwise, is_module=isinstance(loss_fn, nn.Module))


def focal_data(kind):
    g = torch.Generator().manual_seed(1)
    if kind == "normal":
        logits = torch.randn(8, 5, generator=g) * 2
        target = torch.randint(0, 5, (8,), generator=g)
    else:  # huge logits: magnitude 1e4, targets both at the largest logit and far below it
        logits = torch.tensor([[1e4, -1e4, 0.0, 5e3, -5e3],
                               [1e4, -1e4, 0.0, 5e3, -5e3],
                               [-1e4, -1e4, -1e4, -1e4, 1e4],
                               [1e4, 1e4, -1e4, 0.0, 0.0]])
        logits = torch.cat([logits, torch.randn(4, 5, generator=g) * 1e4])
        target = torch.tensor([0, 1, 2, 0, 3, 1, 4, 0])
    return logits, target


def focal_call(mod, gamma=None, kind="normal") -> FocalCall:
    """FocalLoss(gamma=gamma) (default when None): loss, d loss / d logits, per-sample losses."""
    logits, target = focal_data(kind)
    loss_fn = mod.FocalLoss() if gamma is None else mod.FocalLoss(gamma=gamma)
    leaf = logits.clone().requires_grad_(True)
    loss = loss_fn(leaf, target)
    per_sample = [_float(loss_fn(logits[i:i + 1], target[i:i + 1])) for i in range(len(target))]
    return FocalCall(logits=logits, target=target, loss=describe(loss), grad=_grad_of(loss, leaf),
                     per_sample=per_sample, is_module=isinstance(loss_fn, nn.Module))


def masked_data(case):
    g = torch.Generator().manual_seed(2)
    shape = (2, 3, 4) if case == "3d" else (3, 5)
    pred = torch.randn(shape, generator=g)
    target = torch.randn(shape, generator=g)
    if case in ("random", "3d"):
        mask = torch.rand(shape, generator=g) < 0.4
    elif case == "all":
        mask = torch.ones(shape, dtype=torch.bool)
    elif case == "one":
        mask = torch.zeros(shape, dtype=torch.bool)
        mask[1, 2] = True
    else:  # "none"
        mask = torch.zeros(shape, dtype=torch.bool)
    return pred, target, mask


def masked_call(mod, case) -> MaskedCall:
    pred, target, mask = masked_data(case)
    leaf = pred.clone().requires_grad_(True)
    loss = mod.masked_mse(leaf, target, mask.clone())
    return MaskedCall(pred=pred, target=target, mask=mask, loss=describe(loss), grad=_grad_of(loss, leaf))


# ------------------------------------------------------------------ grouped probes
# One worker per group keeps the suite fast; each check reads its part.


def huber_all(mod, configs) -> list[HuberCall]:
    """configs: [[delta, shape], ...]"""
    return [huber_call(mod, delta=d, shape=s) for d, s in configs]


def focal_all(mod, gammas, kind="normal") -> list[FocalCall]:
    return [focal_call(mod, gamma=g, kind=kind) for g in gammas]


def masked_all(mod, cases) -> list[MaskedCall]:
    return [masked_call(mod, case=c) for c in cases]


def device_runs(mod, device) -> dict[str, DeviceRun]:
    """Each loss on inputs on `device`, with a backward pass (masked_mse also with an all-False mask);
    an error is data (on meta, values read are ones)."""
    def backward(loss_of, *inputs):
        def run():
            leaf = inputs[0].to(device).requires_grad_(True)
            loss = loss_of(leaf, *(t.to(device) for t in inputs[1:]))
            loss.float().sum().backward()
            return loss
        return run

    pred, target = huber_data(1.0)
    logits, labels = focal_data("normal")
    m_pred, m_target, mask = masked_data("random")
    return {"huber": run_on(backward(mod.HuberLoss(), pred, target), device),
            "focal": run_on(backward(mod.FocalLoss(), logits, labels), device),
            "masked": run_on(backward(mod.masked_mse, m_pred, m_target, mask), device),
            "masked_none": run_on(backward(mod.masked_mse, m_pred, m_target, torch.zeros_like(mask)), device)}
