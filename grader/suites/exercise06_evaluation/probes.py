"""Probes for exercise06 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from grader.suites.worker_side import AutogradFacts, Described, autograd_facts, attempt, describe, warm_meta_values
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)

N_SAMPLES, N_FEATURES, N_CLASSES = 9, 5, 4
LOADER_ORDER = [7, 2, 0, 4, 8, 1, 6, 3, 5]  # not the dataset's order
BATCH_SIZE = 4  # 9 samples: batches of 4, 4 and a last one of a single sample


def warm():
    """Called once in the zygote."""
    warm_meta_values()


# ---- what the probes return ----

@dataclass
class ForwardCall:
    """One forward call the spy saw."""
    training: bool  # the spy's mode
    dropout_training: bool  # the dropout layer's mode
    device: str  # of the inputs
    batch: int
    facts: AutogradFacts | None  # None when the forward raised


@dataclass
class PredictRun:
    """predict on a dropout classifier fed by a loader whose order is not the dataset's."""
    out: Described | None  # None when predict raised
    error: str | None
    X: Tensor  # the dataset's inputs
    weights: dict[str, Tensor]  # the classifier's state_dict
    order: list[int]  # the loader's sample order
    batch_size: int
    calls: list[ForwardCall]
    training_after: bool  # the modes the model was left in
    dropout_training_after: bool
    grad_enabled_after: bool


@dataclass
class DevicePredict:
    """predict with the model on a device."""
    calls: list[ForwardCall]
    error: str | None
    out: Described | None  # None when predict raised


@dataclass
class Report:
    """classification_report on one case."""
    preds: Tensor
    targets: Tensor
    type: str  # what it returned
    values: dict[str, Described] | None  # its dict's values by key; None when it is no dict


@dataclass
class BestWeights:
    """EarlyStopping's restore after training went on (state_dicts)."""
    seen: list[dict[str, Tensor]]  # at each step call
    before_restore: dict[str, Tensor]
    after_restore: dict[str, Tensor]
    param_types: list[str]  # the model's parameters' types after restore
    requires_grad: bool  # whether all of them require grad


CALLS = []  # module-level, so a copy of the model (copy.deepcopy) still reports here


class Spy(nn.Module):
    """Wraps a classifier with dropout; records what each forward call saw."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    @property
    def calls(self):
        return CALLS

    def forward(self, x):
        record = {"training": self.training, "dropout_training": self.inner[2].training,
                  "device": str(x.device), "batch": int(x.shape[0])}
        CALLS.append(record)
        out = self.inner(x)
        record["facts"] = autograd_facts(out)
        return out


def _plain(t):
    return t.detach().to("cpu").clone().as_subclass(torch.Tensor)


def _setup(start_training=True, device="cpu"):
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, N_CLASSES))
    X = torch.randn(N_SAMPLES, N_FEATURES)
    y = torch.randint(0, N_CLASSES, (N_SAMPLES,))
    weights = {k: _plain(v) for k, v in inner.state_dict().items()}
    model = Spy(inner)
    model.train(start_training)
    if device != "cpu":
        model.to(device)
    loader = DataLoader(TensorDataset(X, y), batch_size=BATCH_SIZE, sampler=LOADER_ORDER)
    return model, loader, X, weights


def _calls(model) -> list[ForwardCall]:
    return [ForwardCall(r["training"], r["dropout_training"], r["device"], r["batch"], r.get("facts"))
            for r in model.calls]


def predict_call(mod, start_training=True) -> PredictRun:
    """predict on a dropout classifier fed by a loader whose order is not the dataset's."""
    model, loader, X, weights = _setup(start_training)
    torch.manual_seed(123)  # dropout noise, should the model wrongly stay in train mode
    out, error = attempt(lambda: mod.predict(model, loader))
    return PredictRun(out=None if error else describe(out), error=error, X=X, weights=weights, order=LOADER_ORDER,
                      batch_size=BATCH_SIZE, calls=_calls(model),
                      training_after=model.training, dropout_training_after=model.inner[2].training,
                      grad_enabled_after=torch.is_grad_enabled())


def predict_device(mod, device) -> DevicePredict:
    """predict with the model on `device` (meta without a GPU): do the inputs follow it?"""
    model, loader, _, _ = _setup(True, device)
    out, error = attempt(lambda: mod.predict(model, loader, device=device), device)
    return DevicePredict(calls=_calls(model), error=error, out=None if error else describe(out))


REPORT_CASES = {
    # every class appears in both preds and targets, all predicted at least once
    "simple": ([0, 0, 1, 2, 1, 1, 2, 0, 2, 1, 0, 1], [0, 0, 0, 0, 1, 1, 2, 2, 2, 1, 0, 2]),
    "binary": ([1, 1, 1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1, 1, 0]),
    # class 5 only in preds, class 4 only in targets, class 2 in neither, class 0 never
    # predicted correctly: averaging over another class set, or 0/0 not counted as 0, shows
    "sparse": ([0, 1, 1, 3, 3, 5, 1, 3, 3, 1], [1, 1, 0, 3, 4, 3, 1, 3, 0, 4]),
    "two_only": ([3, 3, 3, 3], [3, 3, 6, 6]),
}


def report_call(mod, case) -> Report:
    preds, targets = (torch.tensor(v) for v in REPORT_CASES[case])
    result = mod.classification_report(preds.clone(), targets.clone())
    if not isinstance(result, dict):
        return Report(preds=preds, targets=targets, type=type(result).__name__, values=None)
    values = {str(k): describe(v) for k, v in result.items()}
    return Report(preds=preds, targets=targets, type="dict", values=values)


def _model():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def stop_signals(mod, losses, patience, min_delta=None) -> list[Described]:
    """The value step returns for each validation loss in turn."""
    model = _model()
    stopper = mod.EarlyStopping(patience) if min_delta is None else mod.EarlyStopping(patience, min_delta=min_delta)
    return [describe(stopper.step(loss, model)) for loss in losses]


def best_weights(mod, losses, replace_params) -> BestWeights:
    """Train on (weights move each call), then more, then restore: which weights come back?

    replace_params=False moves the parameters in place (as optimizer.step does), so a saved
    state_dict that shares memory with them changes too. replace_params=True gives the
    parameters new memory instead, so a kept reference still holds the old values.
    """
    model = _model()
    stopper = mod.EarlyStopping(patience=100)
    seen = []
    for i, loss in enumerate(losses):
        with torch.no_grad():
            for p in model.parameters():
                if replace_params:
                    p.data = p.data + (i + 1)
                else:
                    p.add_(i + 1)
        seen.append({k: _plain(v) for k, v in model.state_dict().items()})
        stopper.step(loss, model)
    with torch.no_grad():  # later training
        for p in model.parameters():
            if replace_params:
                p.data = p.data * 0 - 50.0
            else:
                p.mul_(0).sub_(50.0)
    before = {k: _plain(v) for k, v in model.state_dict().items()}
    stopper.restore(model)
    after = {k: _plain(v) for k, v in model.state_dict().items()}
    return BestWeights(seen=seen, before_restore=before, after_restore=after,
                       param_types=sorted({type(p).__name__ for p in model.parameters()}),
                       requires_grad=all(p.requires_grad for p in model.parameters()))
