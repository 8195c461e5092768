"""Probes for exercise16 (run in the worker on the submission; return plain data).

RelationNetwork's MLPs are the student's design, so most probes replace the attributes
`g` and `f` (fixed by the README) with the suite's own modules of known weights
(`known_g_f`, also used by the trusted checks to compute the expected output).
"""

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import Described, describe, meta_values, warm_meta_values, warm_optimizers


# ---- what the probes return ----
# The RelationNetwork probes give `structure`, a problem with the model's attributes g and f ("" when
# none); when there is one, their other fields are None (the model was not run).

@dataclass
class PairsCall:
    out: Described  # what all_pairs returned
    input_kept: bool  # the objects were left unchanged


@dataclass
class PairsGradients:
    """all_pairs on float64 objects: the gradient of a fixed weighted sum, and gradcheck."""
    out: Described
    grad: Tensor | None  # the objects' .grad after backward
    weights: Tensor | None  # the weights of the sum; None when all_pairs returned no tensor
    gradcheck: bool


@dataclass
class PartOutput:
    """The model's own g or f called on an input of the shape forward gives it."""
    out: Described | None  # None when it raised
    error: str | None  # the error raised


@dataclass
class RnApi:
    structure: str
    g: PartOutput | None = None
    f: PartOutput | None = None
    outputs: list[Described] | None = None  # RelationNetwork(3, 6, 2)'s output for (B, N) = (2, 3), (1, 4), (4, 1)


@dataclass
class RnKnown:
    structure: str
    out: Described | None = None


@dataclass
class AnyNCall:
    out: Described | None
    error: str  # "" when the call raised nothing


@dataclass
class RnAnyN:
    structure: str
    results: list[AnyNCall] | None = None  # one per ANY_N, in order


@dataclass
class RnInvariance:
    structure: str
    base: Described | None = None
    perms: list[list[int]] | None = None  # the permutations of the objects
    permuted: list[Described] | None = None  # the output for each
    changed: list[Described] | None = None  # the output with object k changed, per k


@dataclass
class ParamGrad:
    none: bool  # its .grad is None
    finite: bool


@dataclass
class RnGradients:
    structure: str
    out: Described | None = None
    params: dict[str, ParamGrad] | None = None  # per parameter name ({} when the output has no graph)
    objects_grad: Tensor | None = None  # the student's model
    known_grad: Tensor | None = None  # with the suite's g and f swapped in


@dataclass
class RnTraining:
    losses: list[float]  # per Adam step
    baseline: float  # the target's variance


@dataclass
class Placed:
    """Where a result on the device check came out."""
    device: str | None  # the tensor's device (the type's name if it is no tensor); None when it raised
    shape: list[int] | None
    error: str | None


@dataclass
class DeviceCall:
    pairs: Placed  # all_pairs
    rn: Placed  # RelationNetwork


def warm():
    """Called once in the zygote."""
    warm_optimizers()
    warm_meta_values()


PAIR_CASES = {  # name: (B, N, D)
    "small": (2, 3, 4),
    "batch_of_one": (1, 5, 2),
    "one_object": (3, 1, 3),
    "one_of_each": (1, 1, 1),
    "wide": (2, 4, 6),
}
RN_CONFIGS = [  # obj_dim, hidden_dim, out_dim, B, N
    (3, 6, 2, 2, 4),
    (2, 5, 3, 1, 3),
    (4, 7, 1, 3, 5),
]
ANY_N = (4, 2, 5, 1)  # one model called with these numbers of objects, in this order


def pair_inputs(case, dtype=torch.float32):
    B, N, D = PAIR_CASES[case]
    g = torch.Generator().manual_seed(sum(map(ord, case)))
    return torch.randn(B, N, D, generator=g).to(dtype)


def rn_inputs(obj_dim, B, N, seed):
    g = torch.Generator().manual_seed(1000 + 31 * seed + 7 * N + B)
    return torch.randn(B, N, obj_dim, generator=g)


def _error(exc):
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


# ----------------------------------------------------------------- all_pairs


def pairs_call(mod, case, dtype="float32") -> PairsCall:
    x = pair_inputs(case, getattr(torch, dtype))
    kept = x.clone()
    out = mod.all_pairs(x)
    return PairsCall(out=describe(out), input_kept=torch.equal(x, kept))


def pairs_gradients(mod) -> PairsGradients:
    """The gradient of a fixed weighted sum of all_pairs (float64), and gradcheck on a small case."""
    x = pair_inputs("small", torch.float64).requires_grad_(True)
    out = mod.all_pairs(x)
    info = PairsGradients(out=describe(out), grad=None, weights=None, gradcheck=False)
    if not isinstance(out, torch.Tensor):
        return info
    g = torch.Generator().manual_seed(77)
    weights = torch.randn(out.shape, generator=g, dtype=torch.float64)
    info.weights = weights
    if out.requires_grad:
        (out * weights).sum().backward()
        info.grad = None if x.grad is None else x.grad.clone()
    y = torch.randn(2, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    try:
        info.gradcheck = bool(torch.autograd.gradcheck(mod.all_pairs, (y,), raise_exception=False))
    except Exception:  # e.g. the result does not require grad
        info.gradcheck = False
    return info


# ----------------------------------------------------------------- RelationNetwork


class KnownMLP(nn.Module):
    """A small MLP of fixed weights (tanh between layers; also after the last when `last_tanh`)."""

    def __init__(self, sizes, seed, scale, last_tanh, dtype=torch.float32):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.weights.append(nn.Parameter((scale * torch.randn(fan_out, fan_in, generator=g)).to(dtype)))
            self.biases.append(nn.Parameter((0.5 * torch.randn(fan_out, generator=g)).to(dtype)))
        self.last_tanh = last_tanh

    def forward(self, x):
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if i < n - 1 or self.last_tanh:
                x = torch.tanh(x)
        return x


def known_g_f(obj_dim, hidden_dim, out_dim, dtype=torch.float32):
    """The suite's own g (2·obj_dim -> hidden_dim, tanh) and f (hidden_dim -> hidden_dim -> out_dim)."""
    g = KnownMLP([2 * obj_dim, hidden_dim], seed=16 + obj_dim, scale=0.7, last_tanh=True, dtype=dtype)
    f = KnownMLP([hidden_dim, hidden_dim, out_dim], seed=61 + hidden_dim, scale=0.25, last_tanh=False,
                 dtype=dtype)
    return g, f


def _structure_problem(model):
    for name in ("g", "f"):
        part = getattr(model, name, None)
        if not isinstance(part, nn.Module):
            return (f"RelationNetwork needs an attribute `{name}` that is an nn.Module (the MLP {name}), "
                    f"found {type(part).__name__}")
    return ""


def _build(mod, obj_dim, hidden_dim, out_dim, known):
    torch.manual_seed(0)
    model = mod.RelationNetwork(obj_dim, hidden_dim, out_dim)
    problem = _structure_problem(model)
    if not problem and known:
        model.g, model.f = known_g_f(obj_dim, hidden_dim, out_dim)
    return model, problem


def _shake(model, seed=5):
    """Move every parameter off its initial value, so no special initialisation hides a mistake."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def rn_api(mod) -> RnApi:
    """Shapes: the module's own g and f on the shapes forward uses, and the output for several B, N."""
    obj_dim, hidden_dim, out_dim = 3, 6, 2
    model, problem = _build(mod, obj_dim, hidden_dim, out_dim, known=False)
    if problem:
        return RnApi(structure=problem)
    info = RnApi(structure="")
    g = torch.Generator().manual_seed(3)
    for name, part, fan_in in (("g", model.g, 2 * obj_dim), ("f", model.f, hidden_dim)):
        x = torch.randn(2, 9, fan_in, generator=g) if name == "g" else torch.randn(2, fan_in, generator=g)
        try:
            setattr(info, name, PartOutput(out=describe(part(x)), error=None))
        except Exception as exc:
            setattr(info, name, PartOutput(out=None, error=_error(exc)))
    info.outputs = []
    for B, N in ((2, 3), (1, 4), (4, 1)):  # a fresh model each (reuse is checked by rn_any_n)
        model, _ = _build(mod, obj_dim, hidden_dim, out_dim, known=False)
        info.outputs.append(describe(model(torch.randn(B, N, obj_dim, generator=g))))
    return info


def rn_known(mod, config) -> RnKnown:
    """The output with the suite's g and f swapped in (a fresh model per config)."""
    obj_dim, hidden_dim, out_dim, B, N = config
    model, problem = _build(mod, obj_dim, hidden_dim, out_dim, known=True)
    if problem:
        return RnKnown(structure=problem)
    return RnKnown(structure="", out=describe(model(rn_inputs(obj_dim, B, N, 0))))


def rn_any_n(mod) -> RnAnyN:
    """One model (the suite's g and f swapped in) called with different numbers of objects in turn."""
    obj_dim, hidden_dim, out_dim, B = 3, 6, 2, 2
    model, problem = _build(mod, obj_dim, hidden_dim, out_dim, known=True)
    if problem:
        return RnAnyN(structure=problem)
    results = []
    for N in ANY_N:
        try:
            results.append(AnyNCall(out=describe(model(rn_inputs(obj_dim, B, N, 1))), error=""))
        except Exception as exc:
            results.append(AnyNCall(out=None, error=_error(exc)))
    return RnAnyN(structure="", results=results)


def rn_invariance(mod) -> RnInvariance:
    """The student's own model (parameters shaken): permuted objects, and one object changed at a time."""
    model, problem = _build(mod, 3, 16, 4, known=False)
    if problem:
        return RnInvariance(structure=problem)
    _shake(model)
    g = torch.Generator().manual_seed(21)
    x = torch.randn(2, 5, 3, generator=g)
    perms = [torch.randperm(5, generator=g) for _ in range(3)]
    with torch.no_grad():
        base = describe(model(x))
        permuted = [describe(model(x[:, p])) for p in perms]
        changed = []
        for k in range(5):
            y = x.clone()
            y[:, k] = torch.randn(2, 3, generator=g)
            changed.append(describe(model(y)))
    return RnInvariance(structure="", base=base, perms=[p.tolist() for p in perms], permuted=permuted,
                        changed=changed)


def rn_gradients(mod) -> RnGradients:
    """Backward from a weighted sum of the output: the student's model (every parameter), and with the
    suite's g and f swapped in (the gradient w.r.t. the objects)."""
    model, problem = _build(mod, 3, 6, 2, known=False)
    if problem:
        return RnGradients(structure=problem)
    _shake(model)
    x = rn_inputs(3, 2, 4, 2).requires_grad_(True)
    out = model(x)
    g = torch.Generator().manual_seed(8)
    up = torch.randn(out.shape, generator=g)
    info = RnGradients(structure="", out=describe(out), params={}, objects_grad=None, known_grad=None)
    if out.requires_grad:
        (out * up).sum().backward()
        info.params = {name: ParamGrad(none=p.grad is None,
                                       finite=p.grad is None or bool(torch.isfinite(p.grad).all()))
                       for name, p in model.named_parameters()}
        info.objects_grad = None if x.grad is None else x.grad.clone()
    model.g, model.f = known_g_f(3, 6, 2)
    x = rn_inputs(3, 2, 4, 2).requires_grad_(True)
    out = model(x)
    if isinstance(out, torch.Tensor) and out.requires_grad and out.shape == (2, 2):
        (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(9))).sum().backward()
        info.known_grad = None if x.grad is None else x.grad.clone()
    return info


def rn_task(seed, B=64, N=3, D=2):
    """Objects in the plane; the target is the mean squared distance over all pairs (no linear part)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, N, D, generator=g) * 2 - 1
    target = (torch.cdist(x, x) ** 2).mean(dim=(1, 2)).unsqueeze(1)
    return x, target


def rn_training(mod, steps=150, lr=1e-2) -> RnTraining:
    torch.manual_seed(0)
    model = mod.RelationNetwork(2, 32, 1)
    x, target = rn_task(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    baseline = float(((target - target.mean()) ** 2).mean())
    losses = []
    for _ in range(steps):
        loss = ((model(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return RnTraining(losses=losses, baseline=baseline)


# ----------------------------------------------------------------- device


def device_call(mod, device) -> DeviceCall:
    """all_pairs and RelationNetwork with everything on `device` (meta without a GPU, where values
    read are ones)."""
    info = {}  # "pairs", "rn": where each result came out
    x = pair_inputs("small").to(device)

    def network():
        torch.manual_seed(0)
        return mod.RelationNetwork(4, 8, 3).to(device)(x)

    for key, fn in (("pairs", lambda: mod.all_pairs(x)), ("rn", network)):
        try:
            with meta_values() if device == "meta" else contextlib.nullcontext():
                out = fn()
            info[key] = Placed(device=str(out.device), shape=list(out.shape), error=None) \
                if isinstance(out, torch.Tensor) else Placed(device=type(out).__name__, shape=None, error=None)
        except Exception as exc:
            info[key] = Placed(device=None, shape=None, error=_error(exc))
    return DeviceCall(pairs=info["pairs"], rn=info["rn"])
