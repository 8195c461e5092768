"""Probes for exercise06 (run in the worker on the submission; return plain data)."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.suites.worker_side import autograd_facts, attempt, describe, warm_meta_values
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)

N_SAMPLES, N_FEATURES, N_CLASSES = 9, 5, 4
LOADER_ORDER = [7, 2, 0, 4, 8, 1, 6, 3, 5]  # not the dataset's order
BATCH_SIZE = 4  # 9 samples: batches of 4, 4 and a last one of a single sample


def warm():
    """Called once in the zygote."""
    warm_meta_values()


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
        record.update(autograd_facts(out))
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


def predict_call(mod, start_training=True):
    """predict on a dropout classifier fed by a loader whose order is not the dataset's."""
    model, loader, X, weights = _setup(start_training)
    torch.manual_seed(123)  # dropout noise, should the model wrongly stay in train mode
    out, error = attempt(lambda: mod.predict(model, loader))
    return {"out": None if error else describe(out), "error": error, "X": X, "weights": weights, "order": LOADER_ORDER,
            "batch_size": BATCH_SIZE, "calls": model.calls,
            "training_after": model.training, "dropout_training_after": model.inner[2].training,
            "grad_enabled_after": torch.is_grad_enabled()}


def predict_device(mod, device):
    """predict with the model on `device` (meta without a GPU): do the inputs follow it?"""
    model, loader, _, _ = _setup(True, device)
    out, error = attempt(lambda: mod.predict(model, loader, device=device), device)
    return {"calls": model.calls, "error": error, "out": None if error else describe(out)}


REPORT_CASES = {
    # every class appears in both preds and targets, all predicted at least once
    "simple": ([0, 0, 1, 2, 1, 1, 2, 0, 2, 1, 0, 1], [0, 0, 0, 0, 1, 1, 2, 2, 2, 1, 0, 2]),
    "binary": ([1, 1, 1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1, 1, 0]),
    # class 5 only in preds, class 4 only in targets, class 2 in neither, class 0 never
    # predicted correctly: averaging over another class set, or 0/0 not counted as 0, shows
    "sparse": ([0, 1, 1, 3, 3, 5, 1, 3, 3, 1], [1, 1, 0, 3, 4, 3, 1, 3, 0, 4]),
    "two_only": ([3, 3, 3, 3], [3, 3, 6, 6]),
}


def report_call(mod, case):
    preds, targets = (torch.tensor(v) for v in REPORT_CASES[case])
    result = mod.classification_report(preds.clone(), targets.clone())
    if not isinstance(result, dict):
        return {"preds": preds, "targets": targets, "type": type(result).__name__, "values": None}
    values = {str(k): describe(v) for k, v in result.items()}
    return {"preds": preds, "targets": targets, "type": "dict", "values": values}


def _model():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def stop_signals(mod, losses, patience, min_delta=None):
    """The value step returns for each validation loss in turn."""
    model = _model()
    stopper = mod.EarlyStopping(patience) if min_delta is None else mod.EarlyStopping(patience, min_delta=min_delta)
    return [describe(stopper.step(loss, model)) for loss in losses]


def best_weights(mod, losses, replace_params):
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
    return {"seen": seen, "before_restore": before, "after_restore": after,
            "param_types": sorted({type(p).__name__ for p in model.parameters()}),
            "requires_grad": all(p.requires_grad for p in model.parameters())}
