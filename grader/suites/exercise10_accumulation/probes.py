"""Probes for exercise10 (run in the worker on the submission; return plain data).

The probes hand the submission their own spies: an SGD subclass that records a clone of
every parameter and of its .grad each time step() is called, a model that records the
shape of what reaches its forward, and losses (subclasses of nn.MSELoss and
nn.CrossEntropyLoss) that record the shapes they were given. The data builders at the
top are also imported by the trusted checks (they are the grader's own code), so the
checks can recompute the true gradients of every group and every example themselves.
"""

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from grader.suites.worker_side import Number, RecordingSGD, StepRecord, number
from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)

D, C = 4, 3        # train_accumulated: a linear classifier, 4 features, 3 classes
MICRO = 4          # samples per micro-batch (all micro-batches have this size)
LR = 0.5
MOMENTUM = 0.9
ONLINE_D, ONLINE_C = 5, 3  # online_step: 5 features; regression (1 output) and 3 classes
ONLINE_LR = 0.1
N_EXAMPLES = 4


# ---- data (also used by the trusted side) ----

def micro_batches(n_micro, seed):
    """n_micro equal micro-batches of MICRO samples: [(inputs (MICRO, D), targets (MICRO,) long)]."""
    g = torch.Generator().manual_seed(100 + seed)
    X = torch.randn(n_micro * MICRO, D, generator=g)
    y = torch.randint(0, C, (n_micro * MICRO,), generator=g)
    return [(X[i:i + MICRO], y[i:i + MICRO]) for i in range(0, len(X), MICRO)]


def regression_examples():
    """N_EXAMPLES (x (ONLINE_D,), y 0-dim float) pairs."""
    g = torch.Generator().manual_seed(7)
    X = torch.randn(N_EXAMPLES, ONLINE_D, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 * torch.randn(N_EXAMPLES, generator=g)
    return [(X[i], y[i]) for i in range(N_EXAMPLES)]


def classification_examples():
    """N_EXAMPLES (x (ONLINE_D,), y 0-dim long class index) pairs."""
    g = torch.Generator().manual_seed(8)
    X = torch.randn(N_EXAMPLES, ONLINE_D, generator=g)
    y = torch.tensor([2, 0, 1, 2])
    return [(X[i], y[i]) for i in range(N_EXAMPLES)]


# ---- what the probes return ----

@dataclass
class Accumulation:
    """One train_accumulated run: what it returned, each step() the optimizer saw, where it ended."""
    result: Number
    steps: list[StepRecord]  # .params: the parameters before that step
    params_after: list[Tensor]


@dataclass
class LossInput:
    """What one call of the spy loss was given."""
    input: list[int]  # the prediction's shape
    target: list[int]  # the target's shape
    target_dtype: str


@dataclass
class OnlineCall:
    """One online_step call: the parameters around it, the .grad seen at each step(), what the
    model and the loss were given, and the loss it returned."""
    params_before: list[Tensor]
    params_after: list[Tensor]
    steps: list[list[Tensor | None]]
    grads_after: list[Tensor | None]
    model_inputs: list[list[int]]  # the shape of each input reaching the model's forward
    loss_inputs: list[LossInput]
    result: Number | None  # None when the call raised


@dataclass
class OnlineTrace:
    calls: list[OnlineCall]
    error: str | None  # what ended the run (a loss's error, or online_step's with keep_errors)


# ---- spies ----

class ShapeSpy(nn.Module):
    """A linear model that records the shape of every input reaching its forward."""

    def __init__(self, d_in, d_out, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = nn.Linear(d_in, d_out)
        self.shapes = []

    def forward(self, x):
        self.shapes.append(list(x.shape))
        return self.linear(x)


class _RecordingLoss:
    """Mixed into a torch loss: records the shapes it is given and any error it raises."""

    def forward(self, input, target):
        self.seen.append(LossInput(input=list(input.shape), target=list(target.shape),
                                   target_dtype=str(target.dtype)))
        try:
            return super().forward(input, target)
        except Exception as exc:
            self.error = _error(exc)
            raise


class SpyMSELoss(_RecordingLoss, nn.MSELoss):
    def __init__(self):
        super().__init__()
        self.seen, self.error = [], None


class SpyCrossEntropyLoss(_RecordingLoss, nn.CrossEntropyLoss):
    def __init__(self):
        super().__init__()
        self.seen, self.error = [], None


# ---- helpers ----

def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def _grads(model):
    return [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]


# ---- probes ----

def accumulate(mod, n_micro, accum_steps, momentum=0.0) -> Accumulation:
    """train_accumulated on n_micro micro-batches (a DataLoader, no shuffling), fresh linear model."""
    batches = micro_batches(n_micro, seed=n_micro)
    X = torch.cat([x for x, _ in batches])
    y = torch.cat([t for _, t in batches])
    loader = DataLoader(TensorDataset(X, y), batch_size=MICRO, shuffle=False)
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    optimizer = RecordingSGD(model.parameters(), lr=LR, momentum=momentum)
    result = mod.train_accumulated(model, loader, nn.CrossEntropyLoss(), optimizer, accum_steps)
    return Accumulation(result=number(result), steps=optimizer.records, params_after=_params(model))


def _error(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0].rstrip('.')}" if text else type(exc).__name__


def _online(mod, model, loss_fn, examples, keep_errors=False) -> OnlineTrace:
    """online_step on the examples in a row. With keep_errors, an exception (other than an
    unfinished stub's NotImplementedError) ends the run and is reported as data, so that a
    crash with one loss costs only the check for that loss."""
    online_step = mod.online_step  # a missing function is the api check's business
    optimizer = RecordingSGD(model.parameters(), lr=ONLINE_LR)
    calls, error = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the spies record the shapes; broadcasting warnings are noise
        for x, y in examples:
            before, start_step, start_loss = _params(model), len(optimizer.records), len(loss_fn.seen)
            start_model = len(model.shapes)
            try:
                result = online_step(model, x.clone(), y.clone(), loss_fn, optimizer)
            except NotImplementedError:
                raise
            except Exception as exc:
                if loss_fn.error is None and not keep_errors:
                    raise
                error = loss_fn.error or _error(exc)
            calls.append(OnlineCall(params_before=before, params_after=_params(model),
                                    steps=[r.grads for r in optimizer.records[start_step:]],
                                    grads_after=_grads(model),
                                    model_inputs=model.shapes[start_model:],
                                    loss_inputs=loss_fn.seen[start_loss:],
                                    result=None if error else number(result)))
            if error:
                break
    return OnlineTrace(calls=calls, error=error)


def online_regression(mod) -> OnlineTrace:
    """online_step on 4 examples in a row: nn.MSELoss, a linear model with one output, y 0-dim float."""
    return _online(mod, ShapeSpy(ONLINE_D, 1, seed=1), SpyMSELoss(), regression_examples())


def online_classification(mod) -> OnlineTrace:
    """online_step on 4 examples in a row: nn.CrossEntropyLoss, logits (1, 3), y 0-dim long."""
    return _online(mod, ShapeSpy(ONLINE_D, ONLINE_C, seed=2), SpyCrossEntropyLoss(), classification_examples(),
                   keep_errors=True)
