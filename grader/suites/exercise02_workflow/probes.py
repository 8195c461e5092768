"""Probes for exercise02 (run in the worker on the submission; return plain data).

The worker's working directory is a fresh temporary folder, so files are written there.
"""

import os
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import AutogradFacts, Described, autograd_facts, describe
from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)



MAX_FILE_BYTES = 1 << 20


# ---- what the probes return ----

@dataclass
class SplitParts:
    """What split returned: a description of each item of a sequence (none otherwise), and its type."""
    is_sequence: bool
    type: str
    items: list[Described]


@dataclass
class SplitCall:
    """split called on the self-identifying rows X, y (X[i, 0] = i * features, y[i] = 10 i + 0.5)."""
    X: Tensor
    y: Tensor
    calls: list[SplitParts]  # one per call (per repeat, or per seed)


@dataclass
class SplitCase:
    X: Tensor
    y: Tensor
    call: SplitParts


@dataclass
class ModelParams:
    """A fresh LinearModel: whether it is an nn.Module (else its type), and its parameters."""
    is_module: bool
    type: str
    n_params: int | None = None  # elements over all parameters
    all_trainable: bool | None = None


@dataclass
class ModelRun:
    """A LinearModel run on the origin and the unit vectors (on_basis) and on random rows X."""
    is_module: bool
    type: str
    n_params: int | None = None
    all_trainable: bool | None = None
    X: Tensor | None = None
    on_basis: Described | None = None  # the output for the origin, then each unit vector
    out: Described | None = None  # the output for X
    params_with_grad: int | None = None  # parameter tensors given a nonzero gradient by out.sum()
    n_tensors: int | None = None  # parameter tensors


@dataclass
class LossAndOptimizer:
    """make_loss_and_optimizer's pair: the loss on known inputs, and two optimizer steps with the
    known gradients g1 then g2 (the parameters before, after the first and after the second)."""
    pair: bool  # it returned a pair (nothing below is set otherwise)
    type: str
    loss_callable: bool | None = None
    is_optimizer: bool | None = None
    optimizer_type: str | None = None
    pred: Tensor | None = None
    target: Tensor | None = None
    loss: Described | None = None  # loss_fn(pred, target)
    pred_grad: Tensor | None = None  # pred's gradient after loss.backward()
    g1: list[Tensor] | None = None
    g2: list[Tensor] | None = None
    before: list[Tensor] | None = None
    after1: list[Tensor] | None = None
    after2: list[Tensor] | None = None


@dataclass
class Forward:
    """One forward pass `ModeSpy` saw."""
    training: bool
    facts: AutogradFacts


@dataclass
class FitRun:
    X: Tensor
    y: Tensor
    init: list[Tensor]  # the parameters before fit
    final: list[Tensor]  # and after
    losses: list[float | None]  # what fit returned, as floats (None: not a number); [] if no sequence
    losses_type: str
    loss_items_float: bool  # a sequence of Python floats
    loss_item_types: list[str]
    steps: int  # optimizer.step() calls
    log: list[Forward]


@dataclass
class EvalRun:
    value: Described  # what evaluate returned
    value_float: float | None
    is_float: bool
    value_type: str
    log: list[Forward]
    grad_enabled_after: bool
    params_require_grad: bool


@dataclass
class Workflow:
    losses: list[float | None]  # what fit returned, as floats
    test_mse: float  # on held-out rows


@dataclass
class Saved:
    state: dict[str, Tensor]  # the model's state_dict when save was called
    exists: bool  # a file at the path given
    file: Tensor | None  # its bytes (uint8); None when absent or too big
    size: int
    files_written: list[str]  # in the working directory


@dataclass
class Loaded:
    expected: Described  # the saved model's output
    is_linear_model: bool
    type: str  # what load returned
    out: Described | None  # its output, when it is an nn.Module


def _as_float(v):
    """A recorded loss as a float (tensors of one element included), else None."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v.detach().reshape(()))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return None


def _parts(result) -> SplitParts:
    """What split returned: a description of each item of a sequence, or its type."""
    if isinstance(result, (tuple, list)):
        return SplitParts(is_sequence=True, type=type(result).__name__, items=[describe(v) for v in result])
    return SplitParts(is_sequence=False, type=type(result).__name__, items=[])


def _split_data(n, features):
    """Rows that identify themselves: X[i, 0] = i * features, y[i] = 10 i + 0.5."""
    X = torch.arange(n * features, dtype=torch.float32).reshape(n, features)
    y = (torch.arange(n, dtype=torch.float32) * 10 + 0.5).unsqueeze(1)
    return X, y


def split_call(mod, n, features, test_fraction=None, seed=None, repeat=1) -> SplitCall:
    """split on self-identifying rows; defaults used where test_fraction/seed are None."""
    X, y = _split_data(n, features)
    kwargs = {}
    if test_fraction is not None:
        kwargs["test_fraction"] = test_fraction
    if seed is not None:
        kwargs["seed"] = seed
    calls = [_parts(mod.split(X.clone(), y.clone(), **kwargs)) for _ in range(repeat)]
    return SplitCall(X=X, y=y, calls=calls)


def split_cases(mod, cases) -> list[SplitCase]:
    """split on several [n, features, test_fraction, seed] cases (None: use the default)."""
    out = []
    for n, features, test_fraction, seed in cases:
        got = split_call(mod, n, features, test_fraction, seed)
        out.append(SplitCase(X=got.X, y=got.y, call=got.calls[0]))
    return out


def split_seeds_call(mod, n, features, test_fraction, seeds) -> SplitCall:
    X, y = _split_data(n, features)
    calls = [_parts(mod.split(X.clone(), y.clone(), test_fraction=test_fraction, seed=s)) for s in seeds]
    return SplitCall(X=X, y=y, calls=calls)


def linear_model_params(mod, sizes) -> list[ModelParams]:
    """Build LinearModel(n) for each n and count its parameters (no forward)."""
    out = []
    for in_features in sizes:
        model = mod.LinearModel(in_features)
        if not isinstance(model, nn.Module):
            out.append(ModelParams(is_module=False, type=type(model).__name__))
            continue
        params = list(model.parameters())
        out.append(ModelParams(is_module=True, type=type(model).__name__, n_params=sum(p.numel() for p in params),
                               all_trainable=all(p.requires_grad for p in params)))
    return out


def linear_model_call(mod, sizes) -> list[ModelRun]:
    return [_linear_model_run(mod, n) for n in sizes]


def _linear_model_run(mod, in_features) -> ModelRun:
    """Build LinearModel(in_features); run it on the origin, the unit vectors and random rows."""
    torch.manual_seed(0)
    model = mod.LinearModel(in_features)
    if not isinstance(model, nn.Module):
        return ModelRun(is_module=False, type=type(model).__name__)
    params = list(model.parameters())
    n_params = sum(p.numel() for p in params)
    all_trainable = all(p.requires_grad for p in params)
    X = torch.randn(7, in_features)
    basis = torch.cat([torch.zeros(1, in_features), torch.eye(in_features)])
    with torch.no_grad():
        on_basis = describe(model(basis))
    pred = model(X)
    out = describe(pred)
    if isinstance(pred, torch.Tensor) and pred.requires_grad:
        pred.sum().backward()
    return ModelRun(is_module=True, type=type(model).__name__, n_params=n_params, all_trainable=all_trainable,
                    X=X, on_basis=on_basis, out=out,
                    params_with_grad=sum(1 for p in params if p.grad is not None and bool(p.grad.abs().sum() > 0)),
                    n_tensors=len(params))


def loss_and_optimizer_call(mod, lr) -> LossAndOptimizer:
    """The loss on known inputs, and two optimizer steps with known gradients."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    result = mod.make_loss_and_optimizer(model, lr)
    out = LossAndOptimizer(pair=isinstance(result, (tuple, list)) and len(result) == 2, type=type(result).__name__)
    if not out.pair:
        return out
    loss_fn, opt = result
    out.loss_callable = callable(loss_fn)
    out.is_optimizer = isinstance(opt, torch.optim.Optimizer)
    out.optimizer_type = type(opt).__name__
    pred = torch.randn(6, 1, requires_grad=True)
    target = torch.randn(6, 1)
    out.pred, out.target = pred.detach().clone(), target
    loss = loss_fn(pred, target)
    out.loss = describe(loss)
    if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
        loss.backward()
    out.pred_grad = None if pred.grad is None else pred.grad.clone()

    params = list(model.parameters())
    g1 = [torch.randn_like(p) for p in params]
    g2 = [torch.randn_like(p) for p in params]
    out.g1, out.g2 = g1, g2
    out.before = [p.detach().clone() for p in params]
    for p, g in zip(params, g1):
        p.grad = g.clone()
    opt.step()
    out.after1 = [p.detach().clone() for p in params]
    for p, g in zip(params, g2):
        p.grad = g.clone()
    opt.step()
    out.after2 = [p.detach().clone() for p in params]
    return out


class ModeSpy(nn.Module):
    """Wraps a module; records the train mode and what autograd did at every forward."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.log: list[Forward] = []

    def forward(self, x):
        out = self.inner(x)
        self.log.append(Forward(training=self.training, facts=autograd_facts(out)))
        return out


class CountingSGD(torch.optim.SGD):
    """Plain SGD that counts its steps."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


def _regression(n, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * torch.randn(n, 1, generator=g)
    return X, y


LOSSES = {"mse": nn.MSELoss, "l1": nn.L1Loss}


def fit_call(mod, loss, lr, epochs, start_eval=False) -> FitRun:
    """fit on the probe's own linear model, loss and counting SGD."""
    X, y = _regression(24, 1)
    torch.manual_seed(0)
    model = ModeSpy(nn.Linear(3, 1))
    if start_eval:
        model.eval()
    opt = CountingSGD(model.parameters(), lr=lr)
    init = [p.detach().clone() for p in model.parameters()]
    losses = mod.fit(model, X, y, LOSSES[loss](), opt, epochs)
    is_seq = isinstance(losses, (list, tuple))
    return FitRun(X=X, y=y, init=init, final=[p.detach().clone() for p in model.parameters()],
                  losses=[_as_float(v) for v in losses] if is_seq else [],
                  losses_type=type(losses).__name__,
                  loss_items_float=is_seq and all(isinstance(v, float) for v in losses),
                  loss_item_types=sorted({type(v).__name__ for v in losses}) if is_seq else [],
                  steps=opt.steps, log=model.log)


def evaluate_call(mod) -> EvalRun:
    """evaluate a model with dropout, handed over in train mode, with an L1 loss."""
    X, y = _regression(20, 2)
    torch.manual_seed(0)
    model = ModeSpy(nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.5), nn.Linear(16, 1)))
    model.train()
    torch.manual_seed(5)
    value = mod.evaluate(model, X, y, nn.L1Loss())
    return EvalRun(value=describe(value), value_float=_as_float(value),
                   is_float=isinstance(value, float), value_type=type(value).__name__, log=model.log,
                   grad_enabled_after=torch.is_grad_enabled(),
                   params_require_grad=all(p.requires_grad for p in model.parameters()))


def workflow_call(mod, lr, epochs) -> Workflow:
    """LinearModel + make_loss_and_optimizer + fit on a noisy linear task; test MSE measured here."""
    X, y = _regression(80, 3)
    torch.manual_seed(0)
    model = mod.LinearModel(3)
    loss_fn, opt = mod.make_loss_and_optimizer(model, lr)
    losses = mod.fit(model, X[:60], y[:60], loss_fn, opt, epochs)
    with torch.no_grad():
        test_mse = float(((model(X[60:]).reshape(-1) - y[60:].reshape(-1)) ** 2).mean())
    is_seq = isinstance(losses, (list, tuple))
    return Workflow(losses=[_as_float(v) for v in losses] if is_seq else [], test_mse=test_mse)


def _distinct_weights(model):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 2 + 1)


def save_call(mod, in_features) -> Saved:
    """save a LinearModel with distinctive weights; send the file's bytes back to be checked."""
    torch.manual_seed(0)
    model = mod.LinearModel(in_features)
    _distinct_weights(model)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    path = "saved_model.pt"
    mod.save(model, path)
    out = Saved(state=state, exists=os.path.isfile(path), file=None, size=0, files_written=sorted(os.listdir(".")))
    if out.exists:
        out.size = os.path.getsize(path)
        if out.size <= MAX_FILE_BYTES:
            with open(path, "rb") as f:
                data = bytearray(f.read())
            out.file = torch.frombuffer(data, dtype=torch.uint8).clone() if data else torch.zeros(0, dtype=torch.uint8)
    return out


def load_call(mod, sizes) -> list[Loaded]:
    return [_load_run(mod, n) for n in sizes]


def _load_run(mod, in_features) -> Loaded:
    """load a state_dict file written here from a LinearModel with distinctive weights."""
    torch.manual_seed(0)
    model = mod.LinearModel(in_features)
    _distinct_weights(model)
    path = f"weights_{in_features}.pt"
    torch.save(model.state_dict(), path)
    X = torch.randn(6, in_features)
    with torch.no_grad():
        expected = model(X)
    torch.manual_seed(123)
    loaded = mod.load(path, in_features)
    out = Loaded(expected=describe(expected), is_linear_model=isinstance(loaded, mod.LinearModel),
                 type=type(loaded).__name__, out=None)
    if isinstance(loaded, nn.Module):
        with torch.no_grad():
            out.out = describe(loaded(X))
    return out
