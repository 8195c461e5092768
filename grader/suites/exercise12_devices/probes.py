"""Probes for exercise12 (run in the worker on the submission; return plain data).

pick_device runs on simulated machines: the probe patches what a program asks torch about
the hardware (torch.cuda, torch.backends.mps, torch.mps, torch.accelerator). move_to and
train_step run with the `meta` device as the target, which needs no GPU: forward,
backward and optimizer.step all work there, and a tensor left on cpu is seen by the
spies (or makes torch raise). A TorchFunctionMode records every tensor the submission
creates from scratch (torch.tensor, torch.zeros, ...) on another device than the target.
The data builders at the top are also imported by the trusted checks.
"""

import collections
import contextlib
from dataclasses import dataclass
from unittest import mock

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import Described, describe
from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)
from grader.worker.child import error_line

D, E, C = 4, 2, 3   # train_step task: 4 features (+ 2 extra inputs), 3 classes
N = 6               # samples per batch
LR = 0.5

# ---- what the probes return ----

@dataclass
class Picked:
    """One pick_device call on a simulated machine."""
    kind: str  # "device", "str", "error", or the type name of what it returned
    device: str | None  # what it returned, for a torch.device or a str
    error: str | None  # the exception's type name
    message: str | None  # the exception as one line


@dataclass
class Node:
    """One value inside an object given to or returned by move_to (`flatten`); the fields
    that do not apply to its kind are None."""
    kind: str  # tensor, dict, list, tuple, namedtuple, sequence or value
    type: str  # its class's qualified name
    id: int  # id() of the object, to tell the same object from a copy
    device: str | None = None  # a tensor's
    dtype: str | None = None  # a tensor's
    shape: list[int] | None = None  # a tensor's
    keys: list[str] | None = None  # a dict's, as repr
    length: int | None = None  # a list's, tuple's, namedtuple's or other sequence's
    repr: str | None = None  # a value's


@dataclass
class MoveCase:
    """move_to(obj, meta) on one input: obj flattened before and after, and the result flattened."""
    before: dict[str, Node]  # path -> node
    after: dict[str, Node]
    result: dict[str, Node] | None  # None when move_to raised
    error: str | None


@dataclass
class StepCall:
    """One train_step call: what it returned, the parameters around it, the .grad seen at each step(),
    the .grad left afterwards and the values loss_fn computed."""
    result: Described
    params_before: list[Tensor]
    params_after: list[Tensor]
    steps: list[list[Tensor | bool | None]]  # per step(), per parameter (True: a gradient on meta)
    grads_after: list[Tensor | None]
    losses: list[float | None]


@dataclass
class StepTrace:
    calls: list[StepCall]


@dataclass
class LossSeen:
    """Where one loss_fn call got its inputs."""
    output: str  # the model output's device
    targets: dict[str, str]  # path -> device of every tensor in the targets


@dataclass
class Created:
    """A tensor the submission created from scratch off the target device."""
    function: str
    device: str


@dataclass
class DeviceTrace:
    """One train_step with the model on another device: where the tensors went, what came back."""
    inputs: list[dict[str, str]]  # per forward: path -> device of every tensor in the inputs
    losses: list[LossSeen]
    steps: int  # optimizer.step() calls
    created: list[Created]
    error: str | None
    result: Described | None  # None when it raised


# ---- simulated machines for pick_device: (cuda device count, mps available) ----

MACHINES = {"cpu": (0, False), "cuda2": (2, False), "mps": (0, True), "both": (1, True)}
PREFERENCES = [None, "cpu", "cuda", "cuda:0", "cuda:1", "cuda:2", "mps"]


@contextlib.contextmanager
def simulated(machine):
    count, mps = MACHINES[machine]
    cuda = count > 0
    accelerator = torch.device("cuda") if cuda else torch.device("mps") if mps else None
    patches = [
        mock.patch.object(torch.cuda, "is_available", lambda: cuda),
        mock.patch.object(torch.cuda, "device_count", lambda: count),
        mock.patch.object(torch.cuda, "current_device", lambda: 0),
        mock.patch.object(torch.backends.cuda, "is_built", lambda: cuda),
        mock.patch.object(torch.backends.mps, "is_available", lambda: mps),
        mock.patch.object(torch.backends.mps, "is_built", lambda: mps),
        mock.patch.object(torch.mps, "is_available", lambda: mps),
        mock.patch.object(torch.mps, "device_count", lambda: int(mps)),
    ]
    if hasattr(torch, "accelerator"):
        patches += [
            mock.patch.object(torch.accelerator, "is_available", lambda: accelerator is not None),
            mock.patch.object(torch.accelerator, "device_count", lambda: count if cuda else int(mps)),
            mock.patch.object(torch.accelerator, "current_accelerator",
                              lambda check_available=False: accelerator),
            mock.patch.object(torch.accelerator, "current_device_index", lambda: 0),
        ]
    with contextlib.ExitStack() as stack:
        for p in patches:
            stack.enter_context(p)
        yield


def _error(exc):
    return error_line(exc)


def pick_device_cases(mod) -> dict[str, Picked]:
    """pick_device(prefer) for every preference on every simulated machine."""
    fn = mod.pick_device
    out = {}
    for machine in MACHINES:
        for prefer in PREFERENCES:
            record = {"kind": None, "device": None, "error": None, "message": None}
            try:
                with simulated(machine):
                    result = fn() if prefer is None else fn(prefer)
            except NotImplementedError:
                raise
            except Exception as exc:
                record.update(kind="error", error=type(exc).__name__, message=_error(exc))
            else:
                if isinstance(result, torch.device):
                    record.update(kind="device", device=str(result))
                elif isinstance(result, str):
                    record.update(kind="str", device=result[:40])
                else:
                    record.update(kind=type(result).__name__)
            out[f"{machine}|{prefer}"] = Picked(**record)
    return out


# ---- move_to ----

Pair = collections.namedtuple("Pair", "first second")
Batch = collections.namedtuple("Batch", ["inputs", "targets", "info"])
One = collections.namedtuple("One", "only")  # one field: One(generator) does not raise


class Tag:
    """A value that is neither a tensor nor a container: it must come back as it is."""

    def __init__(self, name):
        self.name = name


def _t(g, *shape, dtype=torch.float32):
    if dtype == torch.long:
        return torch.randint(0, 5, shape, generator=g)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    return torch.randn(shape, generator=g)


def move_to_inputs():
    """The objects handed to move_to: name -> (object, whether it holds namedtuples)."""
    g = torch.Generator().manual_seed(0)
    return {
        "nested": ({"inputs": {"x": _t(g, 2, 3), "mask": _t(g, 2, 3, dtype=torch.bool)},
                    "targets": [_t(g, 2, dtype=torch.long), (_t(g, 2), _t(g, 1, 2))],
                    "ids": [1, 2, 3], "name": "batch-0", "extra": None, "weight": 0.5,
                    "tag": Tag("t"), "flag": True}, False),
        "sequences": (([_t(g, 3), 7, "a"], (_t(g, 2, 2),), [], (), {}, [[_t(g, 1)], ((None, _t(g, 2)),)]),
                      False),
        "tensor": (_t(g, 3, 2), False),
        "value": (Tag("alone"), False),
        "namedtuple": (Batch(inputs=(_t(g, 2, 3), Pair(_t(g, 2), 3)), targets=_t(g, 2, dtype=torch.long),
                             info={"step": 7, "pairs": [Pair(_t(g, 1), None), Pair("a", _t(g, 2))]}), True),
        "one_field": (One(_t(g, 2, 2)), True),
        "one_field_nested": ({"x": One(One(_t(g, 3)))}, True),
    }


def _qualname(value):
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def flatten(obj, path="obj", out=None) -> dict[str, Node]:
    """path -> description (a `Node`) of every tensor, container and other value inside obj."""
    out = {} if out is None else out
    if isinstance(obj, torch.Tensor):
        out[path] = Node(kind="tensor", type=_qualname(obj), device=str(obj.device),
                         dtype=str(obj.dtype), shape=list(obj.shape), id=id(obj))
    elif isinstance(obj, dict):
        out[path] = Node(kind="dict", type=_qualname(obj), keys=[repr(k)[:40] for k in obj], id=id(obj))
        for key, value in obj.items():
            flatten(value, f"{path}[{key!r}]", out)
    elif isinstance(obj, (list, tuple)):
        fields = list(getattr(obj, "_fields", [])) if isinstance(obj, tuple) else []
        out[path] = Node(kind="namedtuple" if fields else type(obj).__name__ if type(obj) in (list, tuple)
                         else "sequence", type=_qualname(obj), length=len(obj), id=id(obj))
        for i, value in enumerate(obj):
            flatten(value, f"{path}[{i}]", out)  # by position: a namedtuple turned tuple keeps its paths
    else:
        out[path] = Node(kind="value", type=_qualname(obj), id=id(obj), repr=repr(obj)[:40])
    return out


def move_to_cases(mod) -> dict[str, MoveCase]:
    """move_to(obj, meta) on each input: the result and the input (before and after), flattened."""
    fn = mod.move_to
    out = {}
    for name, (obj, _) in move_to_inputs().items():
        before = flatten(obj)
        record = {"before": before, "after": None, "result": None, "error": None}
        try:
            result = fn(obj, torch.device("meta"))
        except NotImplementedError:
            raise
        except Exception as exc:
            record["error"] = _error(exc)
        else:
            record["result"] = flatten(result)
        record["after"] = flatten(obj)
        out[name] = MoveCase(**record)
    return out


# ---- train_step ----

def step_batches(form="tuple", count=3):
    """`count` batches (inputs, targets): ((x, extra), y) for "tuple", ({x, mask}, {y, weight}) for "dict"."""
    g = torch.Generator().manual_seed(3 if form == "tuple" else 4)
    batches = []
    for _ in range(count):
        x, extra = torch.randn(N, D, generator=g), torch.randn(N, E, generator=g)
        y = torch.randint(0, C, (N,), generator=g)
        if form == "tuple":
            batches.append(((x, extra), y))
        else:
            mask = torch.rand(N, D, generator=g) > 0.2
            weight = torch.rand(N, generator=g) + 0.5
            batches.append(({"x": x, "mask": mask}, {"y": y, "weight": weight}))
    return batches


def loss_of(params, inputs, targets):
    """The spy model and loss, written out (the trusted side recomputes losses and gradients)."""
    weight, bias, extra_weight = params
    if isinstance(inputs, dict):
        return _weighted_ce((inputs["x"] * inputs["mask"]) @ weight.T + bias, targets)
    x, extra = inputs
    return F.cross_entropy(x @ weight.T + bias + extra @ extra_weight.T, targets)


def _weighted_ce(out, targets):
    return (F.cross_entropy(out, targets["y"], reduction="none") * targets["weight"]).mean()


PAUSED = [0]  # > 0 while the grader's own spies run: their tensors are not the submission's


@contextlib.contextmanager
def _spy():
    PAUSED[0] += 1
    try:
        yield
    finally:
        PAUSED[0] -= 1


class CreationLog(TorchFunctionMode):
    """Records tensors made from scratch (no tensor among the arguments) off the target device."""

    def __init__(self, device):
        super().__init__()
        self.device = torch.device(device)
        self.created = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not PAUSED[0] and len(self.created) < 10:
            if not any(isinstance(a, torch.Tensor) for a in tree_flatten((args, kwargs))[0]):
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor) and t.device.type != self.device.type:
                        name = getattr(func, "__name__", None) or str(func)
                        self.created.append(Created(function=name, device=str(t.device)))
        return out


def _leaves(obj, path):
    """path -> device of every tensor inside obj."""
    return {p: d.device for p, d in flatten(obj, path).items() if d.kind == "tensor"}


class SpyModel(nn.Module):
    """Linear in x (+ a linear term in `extra`, or x masked); records the devices it was given."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(D, C)
        self.extra = nn.Linear(E, C, bias=False)
        self.seen = []

    def forward(self, inputs):
        with _spy():
            self.seen.append(_leaves(inputs, "inputs"))
            here = self.linear.weight.device
            # follow the model's device, so one unmoved tensor does not hide the next mistake
            if isinstance(inputs, dict):
                return self.linear(inputs["x"].to(here) * inputs["mask"].to(here))
            x, extra = inputs
            return self.linear(x.to(here)) + self.extra(extra.to(here))


class SpyLoss(nn.Module):
    """Cross-entropy (weighted per sample for dict targets) that records what it was given."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, out, targets):
        with _spy():
            record = {"output": str(out.device), "targets": _leaves(targets, "targets"), "value": None}
            here = out.device
            if isinstance(targets, dict):
                loss = _weighted_ce(out, {k: v.to(here) for k, v in targets.items()})
            else:
                loss = F.cross_entropy(out, targets.to(here))
            if not loss.is_meta:
                record["value"] = float(loss.detach().to("cpu"))
            self.seen.append(record)
            return loss


def _snapshot(grad):
    """A gradient as plain data: None, a cpu copy, or (on meta, which has no values) True."""
    if grad is None:
        return None
    return True if grad.is_meta else grad.detach().to("cpu").clone()


class RecordingSGD(torch.optim.SGD):
    """Plain SGD that records a clone of every parameter's .grad (None kept) at each step()."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.records = []
        self.zero_grads = 0

    def step(self, closure=None):
        with _spy():
            params = [p for group in self.param_groups for p in group["params"]]
            self.records.append([_snapshot(p.grad) for p in params])
            return super().step(closure)

    def zero_grad(self, set_to_none=True):
        with _spy():
            self.zero_grads += 1
            return super().zero_grad(set_to_none)


def _params(model):
    return [p.detach().to("cpu").clone() for p in model.parameters()]


def _grads(model):
    return [None if p.grad is None else p.grad.detach().to("cpu").clone() for p in model.parameters()]


def train_step_trace(mod, device="cpu") -> StepTrace:
    """train_step on 3 batches in a row (model on `device`, cpu or cuda): gradients at each
    step(), parameters before and after, what the loss computed, what train_step returned."""
    fn = mod.train_step
    device = torch.device(device)
    model = SpyModel().to(device)
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    loss_fn = SpyLoss()
    calls = []
    for batch in step_batches("tuple"):
        before = _params(model)
        steps, losses = len(optimizer.records), len(loss_fn.seen)
        result = fn(model, batch, loss_fn, optimizer, device)
        calls.append(StepCall(result=describe(result), params_before=before, params_after=_params(model),
                              steps=optimizer.records[steps:], grads_after=_grads(model),
                              losses=[r["value"] for r in loss_fn.seen[losses:]]))
    return StepTrace(calls)


def train_step_device(mod, device="meta", form="tuple") -> DeviceTrace:
    """One train_step with the model on `device` (meta or cuda) and a nested batch on cpu:
    where every tensor reached the model and the loss, what was created elsewhere, what came back."""
    fn = mod.train_step
    device = torch.device(device)
    model = SpyModel().to(device)
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    loss_fn = SpyLoss()
    batch = step_batches(form, count=1)[0]
    log = CreationLog(device)
    result, error = None, None
    try:
        with log:
            result = fn(model, batch, loss_fn, optimizer, device)
    except NotImplementedError as exc:
        if "meta" not in str(exc):  # torch's "Cannot copy out of meta tensor" is a finding, a TODO is not
            raise
        error = _error(exc)
    except Exception as exc:
        error = _error(exc)
    return DeviceTrace(inputs=model.seen, losses=[LossSeen(output=r["output"], targets=r["targets"])
                                                  for r in loss_fn.seen],
                       steps=len(optimizer.records), created=log.created, error=error,
                       result=describe(result) if error is None else None)
