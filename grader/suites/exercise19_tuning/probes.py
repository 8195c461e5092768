"""Probes for exercise19 (run in the worker on the submission; return plain data).

Every probe builds its own seeded inputs and spies and returns what the checks need to
judge by themselves (the data it used included), so the trusted side imports nothing from
here. Random draws of the submission are summarised (rates, ratios, configs), never
compared with particular values.
"""

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils.data import DataLoader, TensorDataset

from grader.suites.worker_side import Described, DeviceRun, Number, RecordingSGD, StepRecord, attempt, describe, number
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import warm_meta_values, warm_optimizers


def warm():
    """Called once in the zygote."""
    warm_optimizers()
    warm_meta_values()
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    p.grad = torch.ones(1)
    opt.step()
    scheduler.step()


# ---- what the probes return ----

Value = bool | int | float | str | None  # a config value as plain data (`plain`): "<type>" for anything else
Config = dict[str, Value] | str  # a config as plain data (`plain_config`): "<type>" when not a dict


@dataclass
class L2Case:
    """l2_penalty on one model of L2_CASES."""
    case: str
    weight: float
    error: str | None
    result: Described
    params: dict[str, Tensor]  # named_parameters(): a shared parameter once
    all_params: dict[str, Tensor]  # a shared parameter under each of its names
    grads: dict[str, Tensor | None] | None  # after backward through the result (when it could flow back)
    backward_error: str | None


@dataclass
class L2Device:
    error: str | None
    backward_error: str | None
    type: str  # what l2_penalty returned
    device: str | None  # where its result is, when a tensor
    grad_devices: list[str]  # where the parameters' gradients are


@dataclass
class TrainRun:
    """Dropout in train mode on 200,000 elements (`_summary`)."""
    error: str | None
    ok: bool = False  # it returned a tensor of the input's shape
    type: str | None = None  # what it returned, when not ok
    shape: list[int] | None = None  # a tensor's, when not ok
    dtype: str | None = None
    kept: float | None = None  # the fraction of elements kept (nonzero)
    finite: bool | None = None
    ratio_min: float | None = None  # of output / input over the kept elements
    ratio_max: float | None = None


@dataclass
class Output:
    """What Dropout(0.3) returned on a float64 input of shape (20, 3, 50)."""
    is_tensor: bool
    type: str
    shape: list[int] | None
    dtype: str | None


@dataclass
class DropoutApi:
    is_module: bool
    error: str | None
    output: Output | None
    rejects: dict[str, str | None]  # p -> the exception it raised at construction (None: accepted)


@dataclass
class Masks:
    masks: dict[str, Tensor]  # per draw, the kept positions
    errors: list[str]


@dataclass
class EdgeRun:
    error: str | None
    output: Described | None  # None when it raised


@dataclass
class Edges:
    """p = 0 and p = 1 in train mode, p = 0.5 and p = 1 in eval mode, all on `input`."""
    p0: EdgeRun
    p1: EdgeRun
    eval: EdgeRun
    eval_p1: EdgeRun
    input: Tensor


@dataclass
class GradRun:
    error: str | None
    x: Tensor
    y: Tensor | None
    grad: Tensor | None  # the input's, after backward of the output's sum
    graph: bool  # the output requires grad


@dataclass
class DropoutCalls:
    error: str | None
    dropout_calls: list[str]  # torch functions with "dropout" in their name


@dataclass
class LrStep(StepRecord):
    """`RecordingSGD`'s record of one step(), and the learning rate in effect."""
    lr: float


@dataclass
class Forward:
    """One forward pass the spy model saw."""
    device: str
    training: bool
    size: int
    params: list[Tensor]


@dataclass
class Counts:
    """How many forwards, losses and steps the spies had seen when a call began."""
    forwards: int
    losses: int
    steps: int


@dataclass
class ScheduleCall:
    epochs: int
    type: str  # what train_with_schedule returned
    result: list[Number] | None  # its items (20 at most), when a list or tuple
    start: Counts
    scheduler_steps: int  # scheduler.last_epoch once it returned


@dataclass
class ScheduleTrace:
    calls: list[ScheduleCall]
    X: Tensor
    y: Tensor
    batch_size: int
    lr: float
    gamma: float
    forwards: list[Forward]
    losses: list[float | None]  # loss_fn's value at each call
    steps: list[LrStep]  # .batch: the forward pass each step followed


@dataclass
class ScheduleDevices:
    """Where the spies saw the inputs and the targets; the error raised."""
    inputs: list[str]
    targets: list[str]
    error: str | None


@dataclass
class Trial:
    """One call of the objective."""
    config: Config
    loss: float


@dataclass
class HistoryEntry:
    config: Config | None  # None when the entry is not a (config, loss) pair
    loss: Number | None
    type: str | None = None  # the entry's, when not a (config, loss) pair


@dataclass
class Returned:
    """What a search returned (`plain_result`)."""
    type: str
    pair: bool
    best: Config | None
    history: list[HistoryEntry] | None
    history_type: str | None
    distinct_dicts: int | None  # how many distinct config dicts the history holds


@dataclass
class GridRun(Returned):
    grid: dict[str, list[Value]]
    calls: list[Trial]
    error: str | None


@dataclass
class Range:
    """A search space entry (`space_description`): choices, or a range low..high on a scale."""
    choices: list[Value] | None = None
    low: float | None = None
    high: float | None = None
    scale: str | None = None  # "log" or "linear"


@dataclass
class RandomRun(Returned):
    calls: list[Trial]
    error: str | None
    space: dict[str, Range]


@dataclass
class Draws:
    columns: dict[str, list[Value]]  # per name, the value of every config the objective saw
    calls: int
    error: str | None
    space: dict[str, Range]
    best: Config | None

# ---- l2_penalty ----

class Tied(nn.Module):
    """An embedding tied to the output layer, a LayerNorm, a parameter `scale` and one named `weight`."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 6, bias=False)
        self.head.weight = self.embed.weight
        self.scale = nn.Parameter(torch.randn(4))
        self.weight = nn.Parameter(torch.randn(3))


class OnlyShift(nn.Module):
    """No parameter named like a weight."""

    def __init__(self):
        super().__init__()
        self.act = nn.ReLU()
        self.shift = nn.Parameter(torch.randn(3))


def l2_model(case):
    torch.manual_seed(0)
    if case == "tied":
        model = Tied()
    elif case == "none":
        model = OnlyShift()
    else:
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    with torch.no_grad():  # norm layers start at ones and zeros: make every parameter distinct
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model.double() if case == "mlp64" else model


L2_CASES = [("mlp", 0.01), ("mlp", 0.5), ("tied", 0.1), ("mlp64", 0.05), ("none", 0.1)]


def l2_cases(mod) -> list[L2Case]:
    """l2_penalty on each case; what it returned, the gradients of backward() through it, the parameters."""
    out = []
    for case, weight in L2_CASES:
        model = l2_model(case)
        result, error = attempt(lambda: mod.l2_penalty(model, weight))
        record = L2Case(case=case, weight=weight, error=error, result=describe(result),
                        params={n: p.detach().clone() for n, p in model.named_parameters()},
                        all_params={n: p.detach().clone()
                                    for n, p in model.named_parameters(remove_duplicate=False)},
                        grads=None, backward_error=None)
        if isinstance(result, torch.Tensor) and result.requires_grad and result.numel() == 1:
            _, record.backward_error = attempt(lambda: result.sum().backward())
            record.grads = {n: None if p.grad is None else p.grad.detach().clone()
                            for n, p in model.named_parameters()}
        out.append(record)
    return out


def l2_device(mod, device) -> L2Device:
    """l2_penalty and its backward with the model on `device`; an error is data."""
    model = l2_model("mlp").to(device)
    result, error = attempt(lambda: mod.l2_penalty(model, 0.1), device)
    back = None
    if isinstance(result, torch.Tensor) and result.requires_grad:
        _, back = attempt(lambda: result.sum().backward(), device)
    return L2Device(error=error, backward_error=back, type=type(result).__name__,
                    device=str(result.device) if isinstance(result, torch.Tensor) else None,
                    grad_devices=sorted({str(p.grad.device) for p in model.parameters() if p.grad is not None}))


# ---- Dropout ----

def dropout_input(rows, cols, seed, dtype=torch.float32):
    """Values whose magnitudes lie in [0.5, 1.5] (no zeros), of random sign."""
    g = torch.Generator().manual_seed(seed)
    sign = torch.randint(0, 2, (rows, cols), generator=g) * 2 - 1
    return ((torch.rand(rows, cols, generator=g) + 0.5) * sign).to(dtype)


def _make(mod, *args):
    """A Dropout (in train mode), or the error its construction raised."""
    module, error = attempt(lambda: mod.Dropout(*args))
    if module is not None:
        module.train()
    return module, error


def _summary(x, y) -> TrainRun:
    """What a train-mode output says: kept fraction and the ratios y/x where kept."""
    if not isinstance(y, torch.Tensor):
        return TrainRun(error=None, ok=False, type=type(y).__name__)
    if y.shape != x.shape:
        return TrainRun(error=None, ok=False, type=type(y).__name__, shape=list(y.shape), dtype=str(y.dtype))
    y = y.detach()
    kept = y != 0
    ratio = (y[kept] / x[kept]).double()
    return TrainRun(error=None, ok=True, dtype=str(y.dtype), kept=kept.double().mean().item(),
                    finite=bool(torch.isfinite(y).all()),
                    ratio_min=ratio.min().item() if ratio.numel() else None,
                    ratio_max=ratio.max().item() if ratio.numel() else None)


KEEP_PS = [0.2, 0.5, 0.7]


def dropout_train(mod) -> dict[str, TrainRun]:
    """Train-mode outputs on 200,000 elements for several p (and the default): rates and scales."""
    x = dropout_input(400, 500, 1)
    out = {}
    for p in KEEP_PS + [None]:
        module, error = _make(mod, *([] if p is None else [p]))
        record = TrainRun(error=error)
        if module is not None:
            torch.manual_seed(10)
            y, record.error = attempt(lambda: module(x))
            if record.error is None:
                record = _summary(x, y)
        out["default" if p is None else str(p)] = record
    return out


def dropout_api(mod) -> DropoutApi:
    """The class, a float64 3-D input's output, and what p outside [0, 1] raises at construction."""
    module, error = _make(mod, 0.3)
    record = DropoutApi(is_module=isinstance(module, nn.Module), error=error, output=None, rejects={})
    if module is not None:
        x = dropout_input(60, 50, 2, torch.float64).reshape(20, 3, 50)
        y, record.error = attempt(lambda: module(x))
        record.output = Output(is_tensor=isinstance(y, torch.Tensor), type=type(y).__name__,
                               shape=list(y.shape) if isinstance(y, torch.Tensor) else None,
                               dtype=str(y.dtype) if isinstance(y, torch.Tensor) else None)
    for p in (-0.1, 1.5):
        try:
            mod.Dropout(p)
        except Exception as exc:
            record.rejects[str(p)] = type(exc).__name__
        else:
            record.rejects[str(p)] = None
    return record


def dropout_masks(mod) -> Masks:
    """Masks (kept positions) of calls under chosen global seeds, for fresh and reused modules."""
    x = dropout_input(50, 40, 3)
    masks, errors = {}, []

    def draw(name, module, seed=None):
        if seed is not None:
            torch.manual_seed(seed)
        y, error = attempt(lambda: module(x))
        if error or not isinstance(y, torch.Tensor) or y.shape != x.shape:
            errors.append(error or f"returned {type(y).__name__} of the wrong shape")
        else:
            masks[name] = y.detach() != 0

    first, error = _make(mod, 0.5)
    if first is None:
        return Masks(masks={}, errors=[error])
    draw("seed1", first, 1)
    draw("seed1_again", first, 1)
    draw("next", first)
    draw("seed1_new_module", _make(mod, 0.5)[0], 1)
    draw("seed2_new_module", _make(mod, 0.5)[0], 2)
    return Masks(masks=masks, errors=errors)


def dropout_edges(mod) -> Edges:
    """p = 0 and p = 1 in train mode; p = 0.5 and p = 1 in eval mode (each compared with the input)."""
    x = dropout_input(30, 20, 4)
    out = {}
    for name, p, train in (("p0", 0.0, True), ("p1", 1.0, True), ("eval", 0.5, False), ("eval_p1", 1.0, False)):
        module, error = _make(mod, p)
        record = EdgeRun(error=error, output=None)
        if module is not None:
            module.train(train)
            torch.manual_seed(5)
            y, record.error = attempt(lambda: module(x))
            if record.error is None:
                record.output = describe(y)
        out[name] = record
    return Edges(**out, input=x)


def dropout_grads(mod) -> GradRun:
    """Forward in train mode, then backward of the output's sum: input, output and the input's gradient."""
    x = dropout_input(100, 100, 6).requires_grad_(True)
    module, error = _make(mod, 0.3)
    record = GradRun(error=error, x=x.detach().clone(), y=None, grad=None, graph=False)
    if module is None:
        return record
    torch.manual_seed(7)
    y, record.error = attempt(lambda: module(x))
    if isinstance(y, torch.Tensor):
        record.y = y.detach().clone()
        record.graph = y.requires_grad
        if y.requires_grad:
            _, record.error = attempt(lambda: y.sum().backward())
            record.grad = None if x.grad is None else x.grad.clone()
    return record


class CallsSeen(TorchFunctionMode):
    """Records the names of the torch functions called within."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def dropout_calls(mod) -> DropoutCalls:
    """The torch functions with 'dropout' in their name that Dropout(0.3) calls, in train mode."""
    module, error = _make(mod, 0.3)
    x = dropout_input(10, 10, 8)
    with CallsSeen() as seen:
        if module is not None:
            _, error = attempt(lambda: module(x))
    return DropoutCalls(error=error, dropout_calls=sorted({n for n in seen.names if "dropout" in n.lower()}))


def dropout_device(mod, device) -> dict[str, DeviceRun]:
    """Outputs' devices with the input on `device`: p = 0.5 and p = 1 in train mode, p = 0.5 in eval mode."""
    x = dropout_input(8, 6, 9).to(device)
    out = {}
    for name, p, train in (("train", 0.5, True), ("p1", 1.0, True), ("eval", 0.5, False)):
        module, error = _make(mod, p)
        record = DeviceRun(error=error, device=None)
        if module is not None:
            module.train(train)
            y, record.error = attempt(lambda: module(x), device)
            record.device = str(y.device) if isinstance(y, torch.Tensor) else None
        out[name] = record
    return out


# ---- train_with_schedule ----

D, C = 4, 3
LR, GAMMA = 0.4, 0.5


class SpyNet(nn.Module):
    """A linear classifier that records, at each forward: input device, train mode, parameters."""

    def __init__(self, keep_params=True):
        super().__init__()
        torch.manual_seed(1)
        self.linear = nn.Linear(D, C)
        self.keep_params = keep_params
        self.seen = []

    def forward(self, x):
        record = {"device": str(x.device), "training": self.training, "size": len(x)}
        if self.keep_params:
            record["params"] = [p.detach().clone() for p in self.parameters()]
        self.seen.append(record)
        return self.linear(x.to(self.linear.weight.device))


class SpyLoss(nn.Module):
    """Cross-entropy that records each call's value (off meta) and the targets' device."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, out, target):
        loss = F.cross_entropy(out, target.to(out.device))
        self.seen.append({"target_device": str(target.device),
                          "value": None if loss.is_meta else float(loss.detach().to("cpu"))})
        return loss


class LrSGD(RecordingSGD):
    """RecordingSGD that also records the learning rate in effect at each step()."""

    def step(self, closure=None):
        lr = self.param_groups[0]["lr"]
        result = super().step(closure)
        r = self.records[-1]
        self.records[-1] = LrStep(params=r.params, grads=r.grads, batch=r.batch, lr=lr)
        return result


def schedule_data():
    """10 samples in batches of 4, 4 and 2."""
    g = torch.Generator().manual_seed(2)
    return torch.randn(10, D, generator=g), torch.randint(0, C, (10,), generator=g), 4


EPOCHS = [3, 2]  # two calls in a row with the same optimizer and scheduler


def _forwards(model) -> list[Forward]:
    return [Forward(device=r["device"], training=r["training"], size=r["size"], params=r["params"])
            for r in model.seen]


def schedule_trace(mod) -> ScheduleTrace:
    """Two calls of train_with_schedule (3 then 2 epochs) on one model, optimizer and StepLR(1, 0.5)."""
    X, y, bs = schedule_data()
    model = SpyNet()
    model.eval()
    optimizer = LrSGD(model.parameters(), lr=LR, batch_of=lambda: len(model.seen) - 1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=GAMMA)
    loss_fn = SpyLoss()
    loader = DataLoader(TensorDataset(X, y), batch_size=bs, shuffle=False)
    calls = []
    for epochs in EPOCHS:
        start = Counts(forwards=len(model.seen), losses=len(loss_fn.seen), steps=len(optimizer.records))
        result = mod.train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs)
        items = list(result) if isinstance(result, (list, tuple)) else None
        calls.append(ScheduleCall(epochs=epochs, type=type(result).__name__,
                                  result=None if items is None else [number(v) for v in items[:20]],
                                  start=start, scheduler_steps=scheduler.last_epoch))
    return ScheduleTrace(calls=calls, X=X, y=y, batch_size=bs, lr=LR, gamma=GAMMA, forwards=_forwards(model),
                         losses=[r["value"] for r in loss_fn.seen], steps=optimizer.records)


def schedule_device(mod, device) -> ScheduleDevices:
    """train_with_schedule (2 epochs) with the model and the loader's data on `device`; an error is data."""
    X, y, bs = schedule_data()
    model = SpyNet(keep_params=False).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=GAMMA)
    loss_fn = SpyLoss()
    loader = DataLoader(TensorDataset(X.to(device), y.to(device)), batch_size=bs, shuffle=False)
    _, error = attempt(lambda: mod.train_with_schedule(model, loader, loss_fn, optimizer, scheduler, 2), device)
    return ScheduleDevices(inputs=[r["device"] for r in model.seen],
                           targets=[r["target_device"] for r in loss_fn.seen], error=error)


# ---- grid_search and random_search ----

def plain(value):
    """A config value as plain data (numbers, strings, booleans and None as they are)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_meta:
        return value.item()
    return f"<{type(value).__name__}>"


def plain_config(config):
    if not isinstance(config, dict):
        return f"<{type(config).__name__}>"
    return {str(k): plain(v) for k, v in config.items()}


def plain_result(result) -> dict:
    """(best, history) as plain data, or what was returned instead: the fields of a `Returned`."""
    out = {"type": type(result).__name__, "pair": isinstance(result, (tuple, list)) and len(result) == 2,
           "best": None, "history": None, "history_type": None, "distinct_dicts": None}
    if not out["pair"]:
        return out
    best, history = result
    out["best"] = plain_config(best)
    out["history_type"] = type(history).__name__
    if isinstance(history, (list, tuple)):
        entries = []
        for entry in list(history)[:5000]:
            if isinstance(entry, (tuple, list)) and len(entry) == 2:
                entries.append(HistoryEntry(config=plain_config(entry[0]), loss=number(entry[1])))
            else:
                entries.append(HistoryEntry(config=None, loss=None, type=type(entry).__name__))
        out["history"] = entries
        # whether entries share one dict object (a config mutated in place)
        ids = [id(e[0]) for e in history if isinstance(e, (tuple, list)) and len(e) == 2 and isinstance(e[0], dict)]
        out["distinct_dicts"] = len(set(ids))
    return out


GRIDS = {  # names deliberately not in alphabetical order
    "three": {"lr": [0.1, 0.01, 0.001], "batch_size": [64, 16], "optimizer": ["sgd", "adam"]},
    "ties": {"width": [8, 16, 32], "depth": [1, 2]},
    "single": {"p": [0.5]},
}


def grid_loss(name, config):
    """The validation loss the objective reports (a fixed function of the config)."""
    try:
        if name == "three":
            return round(abs(math.log10(config["lr"]) + 2.3) + 0.2 * (config["batch_size"] == 64)
                         + 0.1 * (config["optimizer"] == "adam"), 6)
        if name == "ties":
            return {(1, 8): 0.5, (1, 16): 0.3, (1, 32): 0.3, (2, 8): 0.4, (2, 16): 0.3, (2, 32): 0.6}[
                (config["depth"], config["width"])]
        return 0.25
    except Exception:
        return 9.0


def grid_trace(mod) -> dict[str, GridRun]:
    """grid_search on each grid: the objective's calls in order (configs and losses) and what it returned."""
    out = {}
    for name, grid in GRIDS.items():
        calls = []

        def objective(config, name=name, calls=calls):
            loss = grid_loss(name, config)
            calls.append(Trial(config=plain_config(config), loss=loss))
            return loss

        result, error = attempt(lambda: mod.grid_search(copy.deepcopy(grid), objective))
        out[name] = GridRun(grid=grid, calls=calls, error=error, **plain_result(result))
    return out


SPACE = {"lr": (1e-5, 1e-1, "log"), "momentum": (0.5, 0.99, "linear"),
         "optimizer": ["sgd", "adam", "rmsprop"], "layers": [1, 2, 3, 4]}


def space_description() -> dict[str, Range]:
    return {name: Range(choices=spec) if isinstance(spec, list) else
            Range(**dict(zip(("low", "high", "scale"), spec))) for name, spec in SPACE.items()}


RANDOM_LOSS = {"sgd": 0.5, "adam": 0.2, "rmsprop": 0.2}


def random_loss(config):
    """Many ties: the loss depends on the optimizer and whether layers == 4."""
    try:
        return RANDOM_LOSS[config["optimizer"]] + 0.1 * (config["layers"] == 4)
    except Exception:
        return 9.0


def random_trace(mod, n_trials, seed=None, global_seed=0) -> RandomRun:
    """random_search (seed left at its default when None) after torch.manual_seed(global_seed)."""
    calls = []

    def objective(config):
        loss = random_loss(config)
        calls.append(Trial(config=plain_config(config), loss=loss))
        return loss

    torch.manual_seed(global_seed)
    kwargs = {} if seed is None else {"seed": seed}
    result, error = attempt(lambda: mod.random_search(copy.deepcopy(SPACE), n_trials, objective, **kwargs))
    return RandomRun(calls=calls, error=error, space=space_description(), **plain_result(result))


def random_draws(mod, n_trials=2000, seed=7) -> Draws:
    """The configs the objective saw over many trials, as one list of values per name; every loss ties,
    so the best is the first trial."""
    columns, count = {name: [] for name in SPACE}, [0]

    def objective(config):
        count[0] += 1
        for name in SPACE:
            columns[name].append(plain(config.get(name)) if isinstance(config, dict) else None)
        return 1.0

    result, error = attempt(lambda: mod.random_search(copy.deepcopy(SPACE), n_trials, objective, seed=seed))
    best = plain_config(result[0]) if isinstance(result, (tuple, list)) and len(result) == 2 else None
    return Draws(columns=columns, calls=count[0], error=error, space=space_description(), best=best)
