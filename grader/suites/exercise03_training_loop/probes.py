"""Probes for exercise03 (run in the worker on the submission; return plain data).

The probes hand the submission their own spies: a model that records what reached its
forward (device, train mode, grad mode, parameters), a loss_fn that records its inputs,
and an SGD subclass that records every parameter's .grad when step() is called. The
data builders at the top are also imported by the trusted checks (they are the grader's
own code), so the checks can recompute true losses and gradients themselves.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from grader.suites.worker_side import (AutogradFacts, Number, RecordingSGD, StepRecord, attempt, autograd_facts,
                                       number)
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import warm_meta_values, warm_optimizers

D, C = 5, 3          # train_step / train_epoch task: 5 features, 3 classes
EVAL_D, EVAL_C = 5, 4  # evaluate task: 4 classes, batches of 4, 4 and 1 (argmax(dim=0) still broadcasts)
LR = 0.5


def warm():
    """Called once in the zygote."""
    warm_optimizers()
    warm_meta_values()


# ---- data (also used by the trusted side) ----

def step_batches():
    g = torch.Generator().manual_seed(3)
    return [(torch.randn(6, D, generator=g), torch.randint(0, C, (6,), generator=g)) for _ in range(4)]


def epoch_data():
    """10 samples in batches of 4, 4, 2 (an uneven last batch)."""
    g = torch.Generator().manual_seed(4)
    return torch.randn(10, D, generator=g), torch.randint(0, C, (10,), generator=g), 4


def epoch_batches():
    X, y, bs = epoch_data()
    return [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X), bs)]


def eval_data():
    """9 samples in batches of 4, 4, 1; targets mostly but not always the model's argmax."""
    g = torch.Generator().manual_seed(5)
    X = torch.randn(9, EVAL_D, generator=g)
    y = torch.tensor([3, 1, 2, 3, 0, 1, 2, 0, 1])
    return X, y, 4


def blobs():
    g = torch.Generator().manual_seed(6)
    centers = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = torch.arange(60) % 3
    X = centers[y] + 0.5 * torch.randn(60, 2, generator=g)
    perm = torch.randperm(60, generator=g)
    return X[perm], y[perm]


# ---- what the probes return ----

@dataclass
class StepCall:
    """One train_step call: its loss, the parameters around it, the .grad seen at each step()."""
    loss: Number
    params_before: list[Tensor]
    params_after: list[Tensor]
    steps: list[list[Tensor | None]]
    grads_after: list[Tensor | None]


@dataclass
class StepTrace:
    calls: list[StepCall]


@dataclass
class Forward:
    """One forward pass the spy model saw."""
    params: list[Tensor]
    training: bool
    size: int


@dataclass
class EpochTrace:
    result: Number
    params_after: list[Tensor]
    forwards: list[Forward]
    losses: list[float | None]  # loss_fn's value at each call
    loss_sizes: list[int]
    steps: list[StepRecord]  # .batch: the forward pass each step followed


@dataclass
class DevicesSeen:
    """Where the spies saw the inputs, outputs and targets; the error raised; steps taken."""
    inputs: list[str]
    outputs: list[str]
    targets: list[str]
    error: str | None
    steps: int | None


@dataclass
class EvalTrace:
    type: str  # what evaluate returned
    length: int | None
    loss: Number | None
    accuracy: Number | None
    logits: Tensor  # the model's outputs on the whole set, for naming wrong formulas
    targets: Tensor
    batch_size: int
    training: list[bool]  # the model's mode at each forward
    facts: list[AutogradFacts]  # at each forward and loss_fn call


@dataclass
class Learning:
    losses: list[Number]  # train_epoch's, per epoch
    accuracy: float
    final_loss: float


# ---- spies ----

class SpyNet(nn.Module):
    """A linear classifier that records what reaches its forward."""

    def __init__(self, d_in, n_cls, seed=0, keep_params=False):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(d_in, n_cls)
        self.seen = []
        self.keep_params = keep_params

    def forward(self, x):
        record = {"device": str(x.device), "training": self.training, "size": len(x)}
        if self.keep_params:
            record["params"] = [p.detach().clone() for p in self.parameters()]
        self.seen.append(record)
        # follow the model's device, so one unmoved tensor does not hide the next mistake
        out = self.linear(x.to(self.linear.weight.device))
        record["facts"] = autograd_facts(out)
        return out


class SpyLoss(nn.Module):
    """Cross-entropy that records the devices, what autograd did and the value of each call."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, out, target):
        record = {"out_device": str(out.device), "target_device": str(target.device), "size": len(target)}
        loss = F.cross_entropy(out, target.to(out.device))
        record["facts"] = autograd_facts(loss)
        if not loss.is_meta:
            record["value"] = float(loss.detach().to("cpu"))
        self.seen.append(record)
        return loss


# ---- helpers ----

def _params(model):
    return [p.detach().to("cpu").clone() for p in model.parameters()]


def _grads(model):
    return [None if p.grad is None else p.grad.detach().to("cpu").clone() for p in model.parameters()]


def _loader(X, y, batch_size):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=False)


# ---- probes ----

def train_step_trace(mod) -> StepTrace:
    """train_step on 4 batches in a row: gradients at each step(), params before/after, loss."""
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    calls = []
    for x, y in step_batches():
        before = _params(model)
        start = len(optimizer.records)
        result = mod.train_step(model, (x, y), loss_fn, optimizer)
        calls.append(StepCall(loss=number(result), params_before=before, params_after=_params(model),
                              steps=[r.grads for r in optimizer.records[start:]], grads_after=_grads(model)))
    return StepTrace(calls)


def train_epoch_trace(mod) -> EpochTrace:
    """One epoch on a model handed over in eval mode; everything the spies saw."""
    X, y, bs = epoch_data()
    model = SpyNet(D, C, seed=1, keep_params=True)
    model.eval()
    optimizer = RecordingSGD(model.parameters(), lr=LR, batch_of=lambda: len(model.seen) - 1)
    loss_fn = SpyLoss()
    result = mod.train_epoch(model, _loader(X, y, bs), loss_fn, optimizer)
    return EpochTrace(result=number(result), params_after=_params(model),
                      forwards=[Forward(r["params"], r["training"], r["size"]) for r in model.seen],
                      losses=[r.get("value") for r in loss_fn.seen], loss_sizes=[r["size"] for r in loss_fn.seen],
                      steps=optimizer.records)


def _devices_seen(model, loss_fn, error, steps=None) -> DevicesSeen:
    return DevicesSeen(inputs=[r["device"] for r in model.seen], outputs=[r["out_device"] for r in loss_fn.seen],
                       targets=[r["target_device"] for r in loss_fn.seen], error=error, steps=steps)


def train_epoch_device(mod, device) -> DevicesSeen:
    """train_epoch with the model on `device`; an error is data (on meta, values read are ones)."""
    X, y, bs = epoch_data()
    model = SpyNet(D, C, seed=1).to(device)
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    loss_fn = SpyLoss()
    _, error = attempt(lambda: mod.train_epoch(model, _loader(X, y, bs), loss_fn, optimizer, device=device), device)
    return _devices_seen(model, loss_fn, error, len(optimizer.records))


def train_step_device(mod, device) -> DevicesSeen:
    """train_step with the model and the batches on `device`; an error is data."""
    model = SpyNet(D, C, seed=1).to(device)
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    loss_fn = SpyLoss()
    batches = [(x.to(device), y.to(device)) for x, y in step_batches()[:2]]
    _, error = attempt(lambda: [mod.train_step(model, batch, loss_fn, optimizer) for batch in batches], device)
    return _devices_seen(model, loss_fn, error, len(optimizer.records))


def evaluate_trace(mod) -> EvalTrace:
    """evaluate on a model handed over in train mode; the logits let checks name wrong formulas."""
    X, y, bs = eval_data()
    model = SpyNet(EVAL_D, EVAL_C, seed=2)
    with torch.no_grad():
        model.linear.weight.mul_(3.0)
        logits = model.linear(X)
    model.train()
    loss_fn = SpyLoss()
    result = mod.evaluate(model, _loader(X, y, bs), loss_fn)
    pair = isinstance(result, (tuple, list)) and len(result) == 2
    return EvalTrace(type=type(result).__name__,
                     length=len(result) if isinstance(result, (tuple, list)) else None,
                     loss=number(result[0]) if pair else None, accuracy=number(result[1]) if pair else None,
                     logits=logits, targets=y, batch_size=bs, training=[r["training"] for r in model.seen],
                     facts=[r["facts"] for r in model.seen + loss_fn.seen])


def evaluate_device(mod, device) -> DevicesSeen:
    X, y, bs = eval_data()
    model = SpyNet(EVAL_D, EVAL_C, seed=2).to(device)
    loss_fn = SpyLoss()
    _, error = attempt(lambda: mod.evaluate(model, _loader(X, y, bs), loss_fn, device=device), device)
    return _devices_seen(model, loss_fn, error)


def learn(mod, epochs=6) -> Learning:
    """A few epochs on three Gaussian blobs; the epoch losses and the final accuracy."""
    X, y = blobs()
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    loader = _loader(X, y, 10)
    losses = [number(mod.train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer))
              for _ in range(epochs)]
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
        final = F.cross_entropy(model(X), y).item()
    return Learning(losses=losses, accuracy=accuracy, final_loss=final)
