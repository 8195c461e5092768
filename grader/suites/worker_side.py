"""Helpers that probes share: they run in the sandboxed worker, beside the submission.

Spies and recorders (`RecordingSGD`, `autograd_facts`), ways to run the submission's code
(`attempt`, `run_on`, `meta_values`), plain descriptions of what it returned (`number`,
`describe`), the zygote's warm-ups and the `cuda_available` probe. The dataclasses here are
the typed results these helpers make; checks read them as the same types (grader/typed.py),
and their trusted-side helpers are in trusted_side.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

from grader.worker.child import error_line


# ---- typed results ----

@dataclass
class Number:
    """What a function returned where a number is expected (`number`)."""
    type: str  # float, int, bool, tensor, NoneType, ...
    value: float | None  # None unless it is a number (a 1-element float tensor counts)
    requires_grad: bool | None = None  # a tensor's


@dataclass
class Described:
    """What the submission returned (`describe`): a tensor's facts and values, else its type."""
    is_tensor: bool
    type: str
    value: bool | int | float | None = None  # the value when it is not a tensor
    shape: list[int] | None = None
    dtype: str | None = None
    device: str | None = None
    requires_grad: bool | None = None
    has_graph: bool | None = None
    is_leaf: bool | None = None
    values: torch.Tensor | None = None  # on cpu; None on meta


@dataclass
class AutogradFacts:
    """What a spy's forward saw (`autograd_facts`)."""
    graph: bool  # autograd recorded a graph for the output
    grad_enabled: bool
    inference_mode: bool


@dataclass
class DeviceRun:
    """A device check's run (`run_on`): the error raised, and where the result is."""
    error: str | None
    device: str | None


@dataclass
class StepRecord:
    """What `RecordingSGD` saw at one step(): clones of the parameters and their .grad."""
    params: list[torch.Tensor | None]
    grads: list[torch.Tensor | None]
    batch: int | None  # what `batch_of` returned (e.g. which batch was being trained)


# ---- warm-ups and the shared probe ----

def warm_optimizers():
    """For a probe module's `warm` (the zygote calls it once): the first step of a process's
    first optimizer imports torch._dynamo, 1-3 s that would otherwise be paid in every probe."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    p.grad = torch.ones(1)
    opt.step()
    opt.zero_grad()


def warm_meta_values():
    """For a probe module's `warm`: the first operation on the meta device (as `meta_values` runs
    them) imports torch._dynamo too, paid once with `warm_optimizers` where a suite calls both."""
    torch.ones(2, device="meta") * 2


def cuda_available(mod) -> bool:
    """A probe: whether the worker sees CUDA (device checks then run there too)."""
    return torch.cuda.is_available()


# ---- spies ----

def autograd_facts(out) -> AutogradFacts:
    """For a spy's forward, given what it computed: whether autograd recorded a graph for `out`,
    and the grad and inference modes in force."""
    return AutogradFacts(graph=isinstance(out, torch.Tensor) and out.grad_fn is not None,
                         grad_enabled=torch.is_grad_enabled(),
                         inference_mode=torch.is_inference_mode_enabled())


def _recorded(t):
    return None if t is None else t.detach().clone() if t.is_meta else t.detach().to("cpu").clone()


class RecordingSGD(torch.optim.SGD):
    """A probe's SGD that records, at each step(), a `StepRecord`: clones of every parameter and
    of its .grad (None kept) and, when `batch_of` is given, what it returns."""

    def __init__(self, params, lr, momentum=0.0, batch_of=None):
        super().__init__(params, lr=lr, momentum=momentum)
        self.records: list[StepRecord] = []
        self.batch_of = batch_of

    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"]]
        self.records.append(StepRecord(params=[_recorded(p) for p in params],
                                       grads=[_recorded(p.grad) for p in params],
                                       batch=self.batch_of() if self.batch_of else None))
        return super().step(closure)


# ---- running the submission's code ----

def attempt(fn, device="cpu"):
    """Run `fn()` (on the meta device under `meta_values`): (its result, None) or (None, the error
    as one line). An unfinished stub's NotImplementedError("TODO ...") is raised."""
    try:
        with meta_values() if torch.device(device).type == "meta" else contextlib.nullcontext():
            return fn(), None
    except NotImplementedError as exc:
        if "TODO" in str(exc):  # an unfinished stub is not a finding
            raise
        return None, error_line(exc)
    except Exception as exc:
        return None, error_line(exc)


# what torch says where a value of a meta tensor was read (the trusted side reads it too)
VALUE_READS = ("cannot be called on meta", "copy out of meta", "meta device type tensor to numpy",
               "data-independent")
# what torch says where an operator has no meta kernel (masked_select, among others)
NO_META_KERNEL = "no fake impl or Meta kernel"


def _ones_for_meta(tree):
    return tree_map(lambda t: torch.ones(t.shape, dtype=t.dtype)
                    if isinstance(t, torch.Tensor) and t.is_meta else t, tree)


class _MetaValues(TorchFunctionMode):
    """Reading a meta tensor's values reads ones instead; an operator without a meta kernel
    runs on ones and its result is put on meta, where a GPU would have left it."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            no_kernel = NO_META_KERNEL in str(exc)
            if not no_kernel and not any(marker in str(exc) for marker in VALUE_READS):
                raise
        if not no_kernel:
            return func(*_ones_for_meta(args), **_ones_for_meta(kwargs))
        elsewhere = sorted({str(t.device) for t in tree_flatten((args, kwargs))[0]
                            if isinstance(t, torch.Tensor) and not t.is_meta and t.dim()})
        if elsewhere:  # what a GPU says of the same call
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                               f"devices, meta and {elsewhere[0]}! (in {getattr(func, '__name__', func)})")
        out = func(*_ones_for_meta(args), **_ones_for_meta(kwargs))
        return tree_map(lambda t: t.to("meta") if isinstance(t, torch.Tensor) else t, out)


@contextlib.contextmanager
def meta_values():
    """Within: reading values of meta tensors (.item(), float(), bool(), .cpu(), .tolist(), copies
    into cpu tensors, boolean indexing) gives ones instead of raising, and operators with no meta
    kernel (masked_select) run, so code runs on meta to its end as on a GPU, and a tensor left on
    another device shows."""
    import torch.fx.experimental._config as fx_config

    with fx_config.patch(meta_nonzero_assume_all_nonzero=True), _MetaValues():
        yield


def run_on(fn, device) -> DeviceRun:
    """A device check's run of `fn()` (see `attempt`): its error, and where its result (the first
    item of a pair) is."""
    out, error = attempt(fn, device)
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    return DeviceRun(error=error, device=str(out.device) if isinstance(out, torch.Tensor) else None)


# ---- describing what it returned ----

def number(value) -> Number:
    """What a function returned where a number is expected, as plain data."""
    if isinstance(value, bool):
        return Number("bool", None)
    if isinstance(value, (int, float)):
        return Number("float" if isinstance(value, float) else "int", float(value))
    if isinstance(value, torch.Tensor):
        ok = value.numel() == 1 and not value.is_meta and value.is_floating_point()
        return Number("tensor", float(value.detach().to("cpu").reshape(())) if ok else None,
                      requires_grad=bool(value.requires_grad))
    return Number(type(value).__name__, None)


def describe(value) -> Described:
    """A plain description of what the submission returned, safe to send back: a tensor's
    values (detached, on cpu unless on meta) and the autograd facts a check may need;
    anything else by its type (and its value when it is an int, float or bool)."""
    if not isinstance(value, torch.Tensor):
        return Described(False, type(value).__name__,
                         value=value if type(value) in (int, float, bool) else None)
    plain = value.detach()
    return Described(True, type(value).__name__, shape=list(value.shape), dtype=str(value.dtype),
                     device=str(value.device), requires_grad=bool(value.requires_grad),
                     has_graph=value.grad_fn is not None, is_leaf=bool(value.is_leaf),
                     values=None if plain.is_meta else plain.to("cpu").clone().as_subclass(torch.Tensor))
