"""Probes for exercise07 (run in the worker on the submission; return plain data).

Every probe drives the submission under `library_norms_forbidden`: torch's own
normalisation functions and modules are replaced by versions that raise `ForbiddenNorm`
(and a dispatch mode refuses the ATen norm kernels, however they are reached), so a
submission that relies on them is caught by what it does, not by its source text.
"""

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules import batchnorm, instancenorm, normalization
from torch.utils._python_dispatch import TorchDispatchMode

from grader.suites.worker_side import Described, describe

FORBIDDEN_MARK = "forbidden in this exercise"
_NORM_KERNELS = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")


class ForbiddenNorm(RuntimeError):
    """Raised when the submission calls one of torch's own normalisation layers."""


def _forbidden_message(name):
    return (f"norms.py relied on {name}, which is {FORBIDDEN_MARK}: compute the mean and "
            "variance with tensor operations yourself")


class _KernelGuard(TorchDispatchMode):
    def __init__(self, used):
        super().__init__()
        self.used = used

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if any(k in name for k in _NORM_KERNELS):
            self.used.append(f"torch.ops.aten.{name}")
            raise ForbiddenNorm(_forbidden_message(f"the ATen kernel aten.{name} (a library norm)"))
        return func(*args, **(kwargs or {}))


def _raiser(name, used):
    def forbidden(*args, **kwargs):
        used.append(name)
        raise ForbiddenNorm(_forbidden_message(name))
    return forbidden


def _targets():
    """(owner, attribute, name shown to the student) for every library norm we refuse."""
    out = []
    for fn in ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"):
        if hasattr(F, fn):
            out.append((F, fn, f"torch.nn.functional.{fn}"))
    for fn in ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
               "native_batch_norm", "native_layer_norm", "native_group_norm",
               "cudnn_batch_norm", "miopen_batch_norm", "_batch_norm_impl_index"):
        if hasattr(torch, fn):
            out.append((torch, fn, f"torch.{fn}"))
    classes = [(batchnorm._NormBase, "nn.BatchNorm1d/2d/3d"), (batchnorm._BatchNorm, "nn.BatchNorm1d/2d/3d"),
               (nn.SyncBatchNorm, "nn.SyncBatchNorm"), (instancenorm._InstanceNorm, "nn.InstanceNorm"),
               (normalization.LayerNorm, "nn.LayerNorm"), (normalization.GroupNorm, "nn.GroupNorm")]
    if hasattr(normalization, "RMSNorm"):
        classes.append((normalization.RMSNorm, "nn.RMSNorm"))
    for cls, shown in classes:
        for attr in ("__init__", "forward"):
            if attr in vars(cls):
                out.append((cls, attr, f"torch.{shown}"))
    return out


@contextlib.contextmanager
def library_norms_forbidden(mod, used=None):
    """Within: torch's norm functions/modules raise ForbiddenNorm; `used` collects their names."""
    used = [] if used is None else used
    saved = []
    replacements = {}
    for owner, attr, shown in _targets():
        original = vars(owner)[attr]
        replacement = _raiser(shown, used)
        if attr == "__init__":
            def replacement(self, *args, _r=replacement, **kwargs):
                _r()
        saved.append((owner, attr, original))
        setattr(owner, attr, replacement)
        replacements[id(original)] = replacement
    # names the submission imported directly (from torch.nn.functional import layer_norm)
    real = getattr(mod, "_module", mod)
    namespace = vars(real) if hasattr(real, "__dict__") else {}
    for key, value in list(namespace.items()):
        if id(value) in replacements and not isinstance(value, type):
            saved.append((real, key, value))
            setattr(real, key, replacements[id(value)])
    try:
        with _KernelGuard(used):
            yield used
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


# ---- what the probes return ----

@dataclass
class LoadProblem:
    """An attribute through which `_load` could not set a known value."""
    name: str
    found: str  # the attribute's type name ("tensor" when it is a tensor of another shape)
    shape: list[int] | None  # that tensor's shape; None when it is no tensor


@dataclass
class Failed:
    """A forward on an (N, C, L) input that raised a RuntimeError (`_failed`)."""
    error: str


@dataclass
class NotMoved:
    """Running statistics that kept their dtype after module.to(torch.float64)."""
    not_moved: dict[str, str]  # buffer name -> its dtype


@dataclass
class BnStructure:
    params: dict[str, Described]  # named_parameters()
    buffers: dict[str, Described]  # named_buffers()
    keys: list[str]  # state_dict keys
    attrs: dict[str, Described]  # weight, bias, running_mean, running_var as attributes
    state: dict[str, Tensor]  # what was then loaded with load_state_dict
    unexpected: list[str]  # load_state_dict's unexpected_keys
    loaded: dict[str, Tensor]  # the state_dict's values for those keys after the load


@dataclass
class RunningStats:
    running_mean: Described
    running_var: Described


@dataclass
class BnRun:
    state: dict[str, Tensor]  # loaded into the layer by attribute name
    batches: list[Tensor]  # the train-mode inputs
    eval_x: Tensor  # the eval-mode input
    outs: list[Described]  # the train-mode outputs
    stats: list[RunningStats]  # after each train-mode forward
    eval_out: Described
    eval_stats: RunningStats  # after the eval-mode forward
    load_problem: LoadProblem | None
    eps: float
    momentum: float


@dataclass
class Grads:
    """A norm layer's float64 forward on `x` (a leaf), and the gradients of sum(out * grad_out)."""
    state: dict[str, Tensor]
    x: Tensor
    grad_out: Tensor
    out: Described
    x_grad: Described
    weight_grad: Described
    bias_grad: Described
    load_problem: LoadProblem | None


@dataclass
class LnStructure:
    params: dict[str, Described]  # named_parameters()
    keys: list[str]  # state_dict keys


@dataclass
class LnRun:
    state: dict[str, Tensor]  # loaded into the layer by attribute name
    x: Tensor
    train_out: Described
    eval_out: Described
    single_out: Described  # the first sample passed alone (eval mode)
    again_out: Described  # back in train mode
    load_problem: LoadProblem | None
    eps: float


def _plain(t):
    return t.detach().to("cpu").clone().as_subclass(torch.Tensor)


def _load(m, state) -> LoadProblem | None:
    """Copy `state` into the attributes the contract names; a problem description or None.

    Loading through the attribute names (not load_state_dict) keeps the value checks apart
    from the check of how the tensors are registered.
    """
    with torch.no_grad():
        for name, value in state.items():
            target = getattr(m, name, None)
            if not isinstance(target, torch.Tensor):
                return LoadProblem(name=name, found=type(target).__name__, shape=None)
            if tuple(target.shape) != tuple(value.shape):
                return LoadProblem(name=name, found="tensor", shape=list(target.shape))
            target.copy_(value)
    return None


def _stat(m, name) -> Described:
    return describe(getattr(m, name, None))


# ---------------------------------------------------------------- BatchNorm1d

def _bn_data(shape, steps, seed, quiet=False):
    """quiet=True: channel 0 varies 10 times less (variance about 0.04, below an eps of 0.1)."""
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    state = {"weight": 1 + 0.5 * torch.randn(C, generator=g), "bias": 0.5 * torch.randn(C, generator=g),
             "running_mean": 0.3 * torch.randn(C, generator=g),
             "running_var": 0.5 + torch.rand(C, generator=g)}
    batches = [1.5 + 2 * torch.randn(shape, generator=g) for _ in range(steps)]
    eval_x = 1.5 + 2 * torch.randn(shape, generator=g)
    grad_out = torch.randn(shape, generator=g)
    if quiet:
        for x in batches + [eval_x]:
            x[:, 0] *= 0.1
    return state, batches, eval_x, grad_out


def _failed(exc, shape) -> Failed:
    """What a forward on an (N, C, L) input raised, as data (other inputs and errors are raised)."""
    if len(shape) != 3 or isinstance(exc, (ForbiddenNorm, NotImplementedError)) or not isinstance(exc, RuntimeError):
        raise exc
    return Failed(error=f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}")


def _bn_kwargs(eps, momentum):
    kwargs = {}
    if eps is not None:
        kwargs["eps"] = eps
    if momentum is not None:
        kwargs["momentum"] = momentum
    return kwargs


def bn_structure(mod) -> BnStructure:
    """Parameters, buffers and state_dict keys of a fresh BatchNorm1d(3); then a load by name."""
    with library_norms_forbidden(mod):
        m = mod.BatchNorm1d(3)
        params = {n: describe(p) for n, p in m.named_parameters()}
        buffers = {n: describe(b) for n, b in m.named_buffers()}
        keys = list(m.state_dict().keys())
        attrs = {n: describe(getattr(m, n, None)) for n in ("weight", "bias", "running_mean", "running_var")}
        state, _, _, _ = _bn_data((4, 3), 0, seed=5)
        result = m.load_state_dict(state, strict=False)
        loaded = {k: _plain(v) for k, v in m.state_dict().items() if k in state}
    return BnStructure(params=params, buffers=buffers, keys=keys, attrs=attrs, state=state,
                       unexpected=list(result.unexpected_keys), loaded=loaded)


def bn_run(mod, shape, eps=None, momentum=None, steps=3, seed=0, quiet=False) -> BnRun | Failed:
    """Train-mode forwards on `steps` batches, then one eval-mode forward; outputs and buffers."""
    try:
        return _bn_run(mod, shape, eps, momentum, steps, seed, quiet)
    except Exception as exc:
        return _failed(exc, shape)


def _bn_run(mod, shape, eps, momentum, steps, seed, quiet) -> BnRun:
    state, batches, eval_x, _ = _bn_data(tuple(shape), steps, seed, quiet)
    with library_norms_forbidden(mod):
        m = mod.BatchNorm1d(shape[1], **_bn_kwargs(eps, momentum))
        problem = _load(m, state)
        m.train()
        outs, stats = [], []
        for x in batches:  # inputs that require grad, as the output of earlier layers do
            outs.append(describe(m(x.clone().requires_grad_(True))))
            stats.append(RunningStats(running_mean=_stat(m, "running_mean"), running_var=_stat(m, "running_var")))
        m.eval()
        eval_out = describe(m(eval_x.clone()))
        eval_stats = RunningStats(running_mean=_stat(m, "running_mean"), running_var=_stat(m, "running_var"))
    return BnRun(state=state, batches=batches, eval_x=eval_x, outs=outs, stats=stats, eval_out=eval_out,
                 eval_stats=eval_stats, load_problem=problem, eps=1e-5 if eps is None else eps,
                 momentum=0.1 if momentum is None else momentum)


def _grads_record(m, state, x, grad_out, out, problem) -> Grads:
    """What a norm layer `m` gave in float64 for input `x` (a leaf): its output, and the gradients of
    sum(out * grad_out) with respect to x, its weight and its bias."""
    weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
    return Grads(state=state, x=_plain(x), grad_out=grad_out.double(), out=describe(out),
                 x_grad=describe(x.grad),
                 weight_grad=describe(weight.grad if isinstance(weight, torch.Tensor) else None),
                 bias_grad=describe(bias.grad if isinstance(bias, torch.Tensor) else None),
                 load_problem=problem)


def bn_grads(mod, shape, train, seed=0) -> Grads | NotMoved | Failed:
    """float64 forward + backward of sum(out * grad_out); gradients of input, weight and bias."""
    try:
        return _bn_grads(mod, shape, train, seed)
    except Exception as exc:
        return _failed(exc, shape)


def _bn_grads(mod, shape, train, seed) -> Grads | NotMoved:
    state, batches, _, grad_out = _bn_data(tuple(shape), 1, seed)
    state = {k: v.double() for k, v in state.items()}
    x = batches[0].double().requires_grad_(True)
    with library_norms_forbidden(mod):
        m = mod.BatchNorm1d(shape[1])
        m.to(torch.float64)
        not_moved = {n: str(t.dtype) for n in ("running_mean", "running_var")
                     if isinstance(t := getattr(m, n, None), torch.Tensor) and t.dtype != torch.float64}
        if not_moved:
            return NotMoved(not_moved=not_moved)
        problem = _load(m, state)
        m.train(train)
        out = m(x)
        (out * grad_out.double()).sum().backward()
    return _grads_record(m, state, x, grad_out, out, problem)


# ---------------------------------------------------------------- LayerNorm

def _ln_data(shape, normalized_shape, seed, quiet=False):
    """quiet=True: sample 0 varies 20 times less (variance about 0.01, below an eps of 0.1)."""
    g = torch.Generator().manual_seed(seed)
    ns = tuple(normalized_shape)
    state = {"weight": 1 + 0.5 * torch.randn(ns, generator=g), "bias": 0.5 * torch.randn(ns, generator=g)}
    x = 1.0 + 2 * torch.randn(shape, generator=g)
    x = x * (1 + torch.arange(shape[0]).reshape([-1] + [1] * (len(shape) - 1)))  # samples differ in scale
    if quiet:
        x[0] = 1.0 + 0.05 * (x[0] - 1.0)
    grad_out = torch.randn(shape, generator=g)
    return state, x, grad_out


def _ln_arg(normalized_shape, as_int):
    return normalized_shape[0] if as_int else tuple(normalized_shape)


def ln_structure(mod, normalized_shape, as_int) -> LnStructure:
    with library_norms_forbidden(mod):
        m = mod.LayerNorm(_ln_arg(normalized_shape, as_int))
        params = {n: describe(p) for n, p in m.named_parameters()}
        keys = list(m.state_dict().keys())
    return LnStructure(params=params, keys=keys)


def ln_run(mod, shape, normalized_shape, as_int=False, eps=None, seed=0, quiet=False) -> LnRun:
    """Outputs in train mode, in eval mode, and of the first sample alone."""
    state, x, _ = _ln_data(tuple(shape), normalized_shape, seed, quiet)
    with library_norms_forbidden(mod):
        args = (_ln_arg(normalized_shape, as_int),)
        m = mod.LayerNorm(*args) if eps is None else mod.LayerNorm(*args, eps=eps)
        problem = _load(m, state)
        m.train()
        train_out = describe(m(x.clone()))
        m.eval()
        eval_out = describe(m(x.clone()))
        single_out = describe(m(x[:1].clone()))
        m.train()
        again_out = describe(m(x.clone()))
    return LnRun(state=state, x=x, train_out=train_out, eval_out=eval_out, single_out=single_out,
                 again_out=again_out, load_problem=problem, eps=1e-5 if eps is None else eps)


def ln_grads(mod, shape, normalized_shape, as_int=False, seed=0) -> Grads:
    state, x, grad_out = _ln_data(tuple(shape), normalized_shape, seed)
    state = {k: v.double() for k, v in state.items()}
    x = x.double().requires_grad_(True)
    with library_norms_forbidden(mod):
        m = mod.LayerNorm(_ln_arg(normalized_shape, as_int))
        m.to(torch.float64)
        problem = _load(m, state)
        out = m(x)
        (out * grad_out.double()).sum().backward()
    return _grads_record(m, state, x, grad_out, out, problem)


# ---------------------------------------------------------------- library norms

def library_norms(mod) -> dict[str, list[str]]:
    """Run both layers (train, eval, backward, 2-D and 3-D) with torch's norms refused.

    Each run is separate, so a layer that fails on one input for another reason is still
    watched on the others; if every run fails for another reason, that error is raised.
    Per layer ("BatchNorm1d", "LayerNorm"): the names of the refused norms it called.
    """
    torch.manual_seed(0)
    report, errors, ran = {}, [], 0
    for name, runs in (("BatchNorm1d", _batchnorm_runs()), ("LayerNorm", _layernorm_runs())):
        used = []
        for run in runs:
            try:
                with library_norms_forbidden(mod, used):
                    run(mod)
                ran += 1
            except ForbiddenNorm:
                ran += 1
            except Exception as exc:  # not what this probe looks at; the value checks report it
                errors.append(exc)
        report[name] = sorted(set(used))
    if not ran and errors:
        raise errors[0]
    return report


def _batchnorm_runs():
    def run(shape):
        def go(mod):
            m = mod.BatchNorm1d(3)
            x = torch.randn(shape, requires_grad=True)
            m(x).sum().backward()
            m.eval()
            m(x)
        return go
    return [run((6, 3)), run((4, 3, 5))]


def _layernorm_runs():
    def run(ns, shape):
        def go(mod):
            m = mod.LayerNorm(ns)
            x = torch.randn(shape, requires_grad=True)
            m(x).sum().backward()
            m.eval()
            m(x)
        return go
    return [run((5,), (3, 5)), run((4, 5), (2, 4, 5))]


def warm():
    """Called once in the zygote: pay the dispatch mode's first-use cost (about 1 s) there."""
    import types

    with library_norms_forbidden(types.SimpleNamespace()):
        x = torch.ones(2, 3, requires_grad=True)
        (x - x.mean(0)).var(0, unbiased=False).sum().backward()
