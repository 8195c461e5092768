"""Probes for exercise14 (run in the worker on the submission; return plain data).

The probes hand the submission small seeded networks G and D, their own spies and
recorded data: an SGD subclass that records a clone of every parameter and of its .grad
each time step() is called, and a loss (a subclass of nn.BCEWithLogitsLoss) that records
every logits/target pair it is given, and whether the logits' graph reaches G. Before a
call the other network's .grad (and, for discriminator_step, D's own) is pre-filled with
known junk, so a step that leaves it alone, clears it or adds to it can be told apart.
The builders at the top are also imported by the trusted checks (they are the grader's
own code), so the checks can recompute the true losses and gradients themselves.
"""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import (Described, RecordingSGD, StepRecord, attempt, describe, warm_meta_values,
                                       warm_optimizers)

Z, X, H = 3, 2, 6   # latent size, sample size, hidden width of both tiny MLPs
N = 5               # batch size of real samples and of z in the traces
UNEVEN = (6, 4)     # the label-shape probe: 6 real samples, 4 latent vectors
LR_D, LR_G = 0.5, 0.5
CALLS = 2           # each trace calls the step twice in a row


# ---- networks and data (also used by the trusted side) ----

def make_G():
    torch.manual_seed(11)
    return nn.Sequential(nn.Linear(Z, H), nn.Tanh(), nn.Linear(H, X))


def make_D():
    torch.manual_seed(12)
    return nn.Sequential(nn.Linear(X, H), nn.LeakyReLU(0.2), nn.Linear(H, 1))


def batches(n_real=N, n_z=N, seed=0):
    """CALLS pairs (real (n_real, X), z (n_z, Z)); the real data sit around (1.5, -1)."""
    g = torch.Generator().manual_seed(40 + seed)
    return [(torch.tensor([1.5, -1.0]) + 0.5 * torch.randn(n_real, X, generator=g),
             torch.randn(n_z, Z, generator=g)) for _ in range(CALLS)]


def junk(model, seed):
    """The known gradients pre-filled into a model's .grad before a call."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(p.shape, generator=g) for p in model.parameters()]


G_JUNK, D_JUNK = 21, 22


def warm():
    """Called once in the zygote."""
    warm_optimizers()
    warm_meta_values()


# ---- what the probes return ----

@dataclass
class LossCall:
    """One (logits, target) pair RecordingBCE was given."""
    input_shape: list[int]
    target_shape: list[int]
    input_dtype: str
    target_dtype: str
    input_device: str
    target_device: str
    input: Tensor | None  # on cpu; None on meta
    target: Tensor | None
    reaches_G: bool | None  # the logits' graph reaches G's parameters (None: not watched, or unknown)


@dataclass
class DiscriminatorCall:
    """One discriminator_step call: what it returned, D and G around it, what the spies saw."""
    result: Described
    D_before: list[Tensor]
    D_after: list[Tensor]
    D_grads: list[Tensor | None]  # D's .grad once it returned
    steps: list[StepRecord]  # opt_D's step() calls
    losses: list[LossCall]
    G_params: list[Tensor]
    G_grads: list[Tensor | None]
    G_flags: list[bool]  # requires_grad of G's parameters once it returned
    D_flags: list[bool]


@dataclass
class DiscriminatorTrace:
    calls: list[DiscriminatorCall]


@dataclass
class GeneratorCall:
    """One generator_step call: what it returned, G and D around it, what the spies saw."""
    result: Described
    G_before: list[Tensor]
    G_after: list[Tensor]
    G_grads: list[Tensor | None]  # G's .grad once it returned
    steps: list[StepRecord]  # opt_G's step() calls
    losses: list[LossCall]
    D_params: list[Tensor]
    G_flags: list[bool]  # requires_grad of G's parameters once it returned
    D_flags: list[bool]


@dataclass
class GeneratorTrace:
    calls: list[GeneratorCall]


@dataclass
class LabelFacts:
    """The shapes and dtypes of one loss_fn call's logits and labels."""
    input_shape: list[int]
    target_shape: list[int]
    input_dtype: str
    target_dtype: str


@dataclass
class UnevenStep:
    losses: list[LabelFacts]
    error: str | None  # raised after loss_fn was called


@dataclass
class UnevenLabels:
    discriminator_step: UnevenStep
    generator_step: UnevenStep


@dataclass
class DeviceStep:
    inputs: list[str]  # the device of the logits at each loss_fn call
    targets: list[str]  # the device of the labels
    error: str | None


@dataclass
class DeviceLabels:
    discriminator_step: DeviceStep
    generator_step: DeviceStep


@dataclass
class Learning:
    means: list[float]  # the mean of G's samples, before training and after each round
    data_mean: float


# ---- spies ----

class RecordingBCE(nn.BCEWithLogitsLoss):
    """BCEWithLogitsLoss that records each (logits, target) it gets, before computing the loss."""

    def __init__(self, watch=()):
        super().__init__()
        self.watch = list(watch)  # G's parameters: does the logits' graph reach them?
        self.seen = []

    def forward(self, input, target):
        record = LossCall(input_shape=list(input.shape), target_shape=list(target.shape),
                          input_dtype=str(input.dtype), target_dtype=str(target.dtype),
                          input_device=str(input.device), target_device=str(target.device),
                          input=None, target=None, reaches_G=None)
        if not input.is_meta:
            record.input = input.detach().to("cpu").clone()
        if isinstance(target, torch.Tensor) and not target.is_meta:
            record.target = target.detach().to("cpu").clone()
        watch = [p for p in self.watch if p.requires_grad]
        if self.watch and not input.is_meta:
            record.reaches_G = False
            if watch and input.requires_grad:
                try:
                    grads = torch.autograd.grad(input.sum(), watch, allow_unused=True, retain_graph=True)
                    record.reaches_G = any(g is not None for g in grads)
                except RuntimeError:  # a graph already freed: leave the question open
                    record.reaches_G = None
        self.seen.append(record)
        return super().forward(input, target)


# ---- helpers ----

def _params(model):
    return [p.detach().to("cpu").clone() for p in model.parameters()]


def _grads(model):
    return [None if p.grad is None else p.grad.detach().to("cpu").clone() for p in model.parameters()]


def _flags(model):
    return [bool(p.requires_grad) for p in model.parameters()]


def _prefill(model, seed):
    for p, j in zip(model.parameters(), junk(model, seed)):
        p.grad = j.clone()


# ---- probes ----

def discriminator_trace(mod) -> DiscriminatorTrace:
    """discriminator_step twice in a row; D's and G's .grad pre-filled with junk before the first call."""
    G, D = make_G(), make_D()
    _prefill(G, G_JUNK)
    _prefill(D, D_JUNK)
    opt_D = RecordingSGD(D.parameters(), lr=LR_D)
    loss_fn = RecordingBCE(watch=G.parameters())
    calls = []
    for real, z in batches():
        before, start, first = _params(D), len(opt_D.records), len(loss_fn.seen)
        result = mod.discriminator_step(G, D, real, z, opt_D, loss_fn)
        calls.append(DiscriminatorCall(result=describe(result), D_before=before, D_after=_params(D),
                                       D_grads=_grads(D), steps=opt_D.records[start:], losses=loss_fn.seen[first:],
                                       G_params=_params(G), G_grads=_grads(G),
                                       G_flags=_flags(G), D_flags=_flags(D)))
    return DiscriminatorTrace(calls)


def generator_trace(mod) -> GeneratorTrace:
    """generator_step twice in a row (G's .grad starts empty; D's .grad pre-filled with junk)."""
    G, D = make_G(), make_D()
    _prefill(D, D_JUNK)
    opt_G = RecordingSGD(G.parameters(), lr=LR_G)
    loss_fn = RecordingBCE(watch=G.parameters())
    calls = []
    for _, z in batches(seed=1):
        before, start, first = _params(G), len(opt_G.records), len(loss_fn.seen)
        result = mod.generator_step(G, D, z, opt_G, loss_fn)
        calls.append(GeneratorCall(result=describe(result), G_before=before, G_after=_params(G),
                                   G_grads=_grads(G), steps=opt_G.records[start:], losses=loss_fn.seen[first:],
                                   D_params=_params(D), G_flags=_flags(G), D_flags=_flags(D)))
    return GeneratorTrace(calls)


def _short_error(exc):
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def labels_uneven(mod) -> UnevenLabels:
    """Both steps with 6 real samples and 4 latent vectors: the labels each loss_fn call got."""
    (real, z), _ = batches(*UNEVEN, seed=2)
    out = {}
    for who in ("discriminator_step", "generator_step"):
        G, D = make_G(), make_D()
        loss_fn = RecordingBCE()
        error = None
        try:
            if who == "discriminator_step":
                mod.discriminator_step(G, D, real, z, torch.optim.SGD(D.parameters(), lr=LR_D), loss_fn)
            else:
                mod.generator_step(G, D, z, torch.optim.SGD(G.parameters(), lr=LR_G), loss_fn)
        except Exception as exc:
            if not loss_fn.seen:
                raise
            error = _short_error(exc)
        out[who] = UnevenStep(losses=[LabelFacts(r.input_shape, r.target_shape, r.input_dtype, r.target_dtype)
                                      for r in loss_fn.seen], error=error)
    return UnevenLabels(**out)


def labels_device(mod, device) -> DeviceLabels:
    """Both steps with G, D and the data on `device`; an error is data (on meta, values read are ones)."""
    (real, z), _ = batches(seed=3)
    out = {}
    for who in ("discriminator_step", "generator_step"):
        G, D = make_G().to(device), make_D().to(device)
        loss_fn = RecordingBCE()
        if who == "discriminator_step":
            _, error = attempt(lambda: mod.discriminator_step(G, D, real.to(device), z.to(device),
                                                              torch.optim.SGD(D.parameters(), lr=LR_D), loss_fn),
                               device)
        else:
            _, error = attempt(lambda: mod.generator_step(G, D, z.to(device), torch.optim.SGD(G.parameters(), lr=LR_G),
                                                          loss_fn), device)
        out[who] = DeviceStep(inputs=[r.input_device for r in loss_fn.seen],
                              targets=[r.target_device for r in loss_fn.seen], error=error)
    return DeviceLabels(**out)


def learn(mod, rounds=45) -> Learning:
    """A 1-D GAN: G = Linear(1, 1) on z ~ N(0, 1), data ~ N(2, 0.5); the mean of G's samples per round."""
    torch.manual_seed(0)
    G = nn.Linear(1, 1)
    D = nn.Sequential(nn.Linear(1, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    g = torch.Generator().manual_seed(5)
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    z_eval = torch.randn(256, 1, generator=g)

    def mean():
        with torch.no_grad():
            return float(G(z_eval).mean())

    means = [mean()]
    for _ in range(rounds):
        real = 2.0 + 0.5 * torch.randn(32, 1, generator=g)
        z = torch.randn(32, 1, generator=g)
        mod.discriminator_step(G, D, real, z, opt_D, loss_fn)
        mod.generator_step(G, D, z, opt_G, loss_fn)
        means.append(mean())
    return Learning(means=means, data_mean=2.0)
