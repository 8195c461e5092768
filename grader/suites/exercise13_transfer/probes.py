"""Probes for exercise13 (run in the worker on the submission; return plain data).

The probes build their own small "pretrained" models (never the file shipped with the
exercise): each has a `features` backbone with BatchNorm layers and a linear head `fc`.
Which parameters are frozen is set here, directly, so that a check of one function does
not depend on the submission's other functions (except in the end-to-end fine-tuning
probe). Modules and parameters are reported by their names in `named_modules()` /
`named_parameters()`; optimizer parameters are matched to those names by identity.
"""

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from grader.suites.worker_side import Described, describe
from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)

D_IN, N_CLASSES = 6, 3


# ---- what the probes return ----

@dataclass
class FreezeCall:
    """freeze(<target>): requires_grad and state per parameter / state entry name, before and after."""
    inside: list[str]  # the names of the target module's parameters
    before: dict[str, bool]  # requires_grad per parameter name
    after: dict[str, bool]
    state_before: dict[str, Tensor]  # the model's state_dict
    state_after: dict[str, Tensor]
    param_names: list[str]  # after the call
    modes_changed: list[str]  # modules whose train/eval mode the call changed
    grad_enabled: bool  # torch.is_grad_enabled() after the call


@dataclass
class HeadParam:
    """A parameter of the new head."""
    shape: list[int]
    requires_grad: bool
    is_parameter: bool  # an nn.Parameter, not a plain tensor


@dataclass
class HeadCall:
    """replace_head(model, num_classes): what it returned, what model.fc is, the backbone around it."""
    returned_is_model: bool
    returned_type: str
    returned_is_module: bool
    old_in_features: int
    fc_type: str
    fc_is_linear: bool
    fc_is_old: bool
    fc_params: dict[str, HeadParam] | None  # per parameter name of the new head; None if it is no module
    in_features: int | None  # None unless the new head is an nn.Linear
    out_features: int | None
    has_bias: bool
    backbone_before: dict[str, Tensor]  # model.features' state_dict
    backbone_after: dict[str, Tensor]
    backbone_rg_before: dict[str, bool]  # requires_grad per backbone parameter name
    backbone_rg_after: dict[str, bool]
    output_shape: list[int] | None  # the model's output on 5 samples; None if it raised
    output_error: str | None


@dataclass
class OptGroup:
    """One param group: its parameters' names in the model, and its hyperparameters (HYPER)."""
    params: list[str]
    lr: Described
    momentum: Described
    weight_decay: Described
    dampening: Described
    nesterov: Described
    maximize: Described


@dataclass
class OptimizerCall:
    """make_optimizer(model, lr): what it returned, and the model's trainable and frozen parameters."""
    type: str
    is_optimizer: bool
    is_sgd: bool
    groups: list[OptGroup] | None  # None unless it is a torch.optim.Optimizer
    trainable: list[str]
    frozen: list[str]


@dataclass
class Layer:
    """One module of the model (named_modules())."""
    name: str
    type: str
    is_bn: bool
    params: dict[str, bool]  # requires_grad per parameter name
    training: bool


@dataclass
class ModesCall:
    """finetune_mode(model): the modules before and after; the error, when caught."""
    before: list[Layer]
    after: list[Layer] | None  # None when it raised
    error: str | None


@dataclass
class FinetuneRun:
    """The whole workflow: the loss at each step, model.features' state_dict before and after."""
    losses: list[float]
    backbone_before: dict[str, Tensor]
    backbone_after: dict[str, Tensor]
    param_names: list[str]  # model.features' parameters
    bn_names: list[str]  # model.features' BatchNorm layers


# ---- the probes' own models ----

def _block(d_in, d_out, affine=True):
    return nn.Sequential(OrderedDict(linear=nn.Linear(d_in, d_out), bn=nn.BatchNorm1d(d_out, affine=affine),
                                     relu=nn.ReLU()))


class FlatNet(nn.Module):
    """features: Linear, BatchNorm1d, ReLU, Linear, BatchNorm1d, ReLU (one level); fc: Linear(8, 3)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(D_IN, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                      nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.fc = nn.Linear(8, N_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


class NestedConvNet(nn.Module):
    """A conv backbone: a BatchNorm2d directly in `features`, another two levels down inside
    `features.block.inner`, and a Dropout."""

    def __init__(self):
        super().__init__()
        inner = nn.Sequential(OrderedDict(conv=nn.Conv2d(4, 6, 3, padding=1), bn=nn.BatchNorm2d(6), relu=nn.ReLU()))
        self.features = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(2, 4, 3, padding=1), bn=nn.BatchNorm2d(4), relu=nn.ReLU(),
            block=nn.Sequential(OrderedDict(inner=inner, drop=nn.Dropout(0.2))),
            pool=nn.AdaptiveAvgPool2d(1),
            flat=nn.Flatten(),
        ))
        self.fc = nn.Linear(6, N_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


class PartNet(nn.Module):
    """Three named blocks (block1 frozen, block2 trainable, block3 half: its BatchNorm's weight
    frozen, bias trainable), a Dropout, and fc = Linear(12, 3)."""

    def __init__(self, affine=True):
        super().__init__()
        self.features = nn.Sequential(OrderedDict(
            block1=_block(D_IN, 10, affine), block2=_block(10, 12), drop=nn.Dropout(0.1), block3=_block(12, 12)))
        self.fc = nn.Linear(12, N_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


class NoAffineNet(nn.Module):
    """A backbone whose first BatchNorm has no parameters (affine=False)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(OrderedDict(block1=_block(D_IN, 8, affine=False), block2=_block(8, 8)))
        self.fc = nn.Linear(8, N_CLASSES)

    def forward(self, x):
        return self.fc(self.features(x))


def _inputs(model_name, n=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    if model_name == "nested":
        return torch.randn(n, 2, 5, 5, generator=g)
    return torch.randn(n, D_IN, generator=g)


def _pretrained(model_name):
    """A seeded model whose BatchNorm layers have non-trivial running statistics."""
    torch.manual_seed(0)
    model = {"flat": FlatNet, "nested": NestedConvNet, "part": PartNet, "noaffine": NoAffineNet}[model_name]()
    model.train()
    with torch.no_grad():
        for seed in range(3):
            model(_inputs(model_name, seed=10 + seed) * 2 + 0.5)
    return model


def _set_frozen(model, pattern):
    """The freezing the scenario starts from, set directly (not with the submission's freeze)."""
    if pattern == "backbone":
        model.features.requires_grad_(False)
    elif pattern == "all":
        model.requires_grad_(False)
    elif pattern == "part":
        model.features.block1.requires_grad_(False)
        model.features.block3.bn.weight.requires_grad_(False)
    elif pattern != "none":
        raise ValueError(pattern)


def _plain(t):
    return t.detach().to("cpu").clone().as_subclass(torch.Tensor)


def _requires_grad(model):
    return {name: bool(p.requires_grad) for name, p in model.named_parameters()}


def _state(model):
    return {name: _plain(t) for name, t in model.state_dict().items()}


def _error(exc):
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


# ---- freeze ----

def freeze_call(mod, model_name, target, pre_frozen=()) -> FreezeCall:
    """freeze(<target>) on a model whose parameters all had gradients; which now require grad?

    target: "model", "features", "block" (a nested block), "fc" (a leaf nn.Linear).
    pre_frozen: parameter names already frozen before the call (outside the target).
    """
    model = _pretrained(model_name)
    for name, p in model.named_parameters():
        if name in pre_frozen:
            p.requires_grad_(False)
    model(_inputs(model_name)).sum().backward()  # every trainable parameter has a .grad
    module = {"model": model, "features": model.features, "fc": model.fc,
              "block": getattr(model.features, "block", None)}[target]
    inside = {id(p) for p in module.parameters()}
    before_rg = _requires_grad(model)
    before = _state(model)
    modes_before = {name: m.training for name, m in model.named_modules()}
    mod.freeze(module)
    return FreezeCall(
        inside=[name for name, p in model.named_parameters() if id(p) in inside],
        before=before_rg,
        after=_requires_grad(model),
        state_before=before,
        state_after=_state(model),
        param_names=[name for name, _ in model.named_parameters()],
        modes_changed=[name for name, m in model.named_modules() if m.training != modes_before.get(name)],
        grad_enabled=torch.is_grad_enabled(),
    )


# ---- replace_head ----

def replace_head_call(mod, model_name, num_classes, frozen="none") -> HeadCall:
    """replace_head(model, num_classes): what is model.fc afterwards, and what was returned?"""
    model = _pretrained(model_name)
    _set_frozen(model, frozen)
    old_fc = model.fc
    backbone_before = {name: _plain(t) for name, t in model.features.state_dict().items()}
    backbone_rg_before = {name: p.requires_grad for name, p in model.features.named_parameters()}
    returned = mod.replace_head(model, num_classes)
    fc = model.fc
    fc_params = {name: HeadParam(shape=list(p.shape), requires_grad=bool(p.requires_grad),
                                 is_parameter=isinstance(p, nn.Parameter))
                 for name, p in fc.named_parameters()} if isinstance(fc, nn.Module) else None
    backbone_after = {name: _plain(t) for name, t in model.features.state_dict().items()}
    backbone_rg_after = {name: p.requires_grad for name, p in model.features.named_parameters()}
    output_shape, output_error = None, None
    model.eval()
    try:
        with torch.no_grad():
            output_shape = list(model(_inputs(model_name, n=5)).shape)
    except Exception as exc:
        output_error = _error(exc)
    return HeadCall(
        returned_is_model=returned is model,
        returned_type=type(returned).__name__,
        returned_is_module=isinstance(returned, nn.Module),
        old_in_features=old_fc.in_features,
        fc_type=type(fc).__name__,
        fc_is_linear=isinstance(fc, nn.Linear),
        fc_is_old=fc is old_fc,
        fc_params=fc_params,
        in_features=getattr(fc, "in_features", None) if isinstance(fc, nn.Linear) else None,
        out_features=getattr(fc, "out_features", None) if isinstance(fc, nn.Linear) else None,
        has_bias=isinstance(fc, nn.Linear) and fc.bias is not None,
        backbone_before=backbone_before,
        backbone_after=backbone_after,
        backbone_rg_before=backbone_rg_before,
        backbone_rg_after=backbone_rg_after,
        output_shape=output_shape,
        output_error=output_error,
    )


# ---- make_optimizer ----

HYPER = ("lr", "momentum", "weight_decay", "dampening", "nesterov", "maximize")


def optimizer_call(mod, model_name, frozen, lr) -> OptimizerCall:
    """make_optimizer(model, lr) after a new head: which parameters, which settings?"""
    model = _pretrained(model_name)
    _set_frozen(model, frozen)
    model.fc = nn.Linear(model.fc.in_features, N_CLASSES)
    names = {id(p): name for name, p in model.named_parameters()}
    opt = mod.make_optimizer(model, lr)
    is_optimizer = isinstance(opt, torch.optim.Optimizer)
    groups = None
    if is_optimizer:
        groups = [OptGroup(params=[names.get(id(p), "<not a parameter of the model>") for p in g["params"]],
                           **{k: describe(g.get(k)) for k in HYPER}) for g in opt.param_groups]
    return OptimizerCall(type=type(opt).__name__, is_optimizer=is_optimizer,
                         is_sgd=isinstance(opt, torch.optim.SGD), groups=groups,
                         trainable=[n for n, p in model.named_parameters() if p.requires_grad],
                         frozen=[n for n, p in model.named_parameters() if not p.requires_grad])


# ---- finetune_mode ----

def _layers(model) -> list[Layer]:
    return [Layer(name=name, type=type(m).__name__, is_bn=isinstance(m, _BatchNorm),
                  params={n: bool(p.requires_grad) for n, p in m.named_parameters()},
                  training=bool(m.training)) for name, m in model.named_modules()]


def finetune_modes(mod, model_name, frozen, start_training, catch=False) -> ModesCall:
    """finetune_mode(model) on a model with `frozen` parameters, starting in train or eval mode.

    catch: report an exception the submission raises (to name it) instead of failing the probe.
    """
    model = _pretrained(model_name)
    _set_frozen(model, frozen)
    model.train(start_training)
    before = _layers(model)
    try:
        mod.finetune_mode(model)
    except NotImplementedError:
        raise
    except Exception as exc:
        if not catch:
            raise
        return ModesCall(before=before, after=None, error=_error(exc))
    return ModesCall(before=before, after=_layers(model), error=None)


# ---- the whole workflow ----

FT_STEPS, FT_LR = 25, 1.0


def finetune_run(mod) -> FinetuneRun:
    """freeze the backbone, replace the head, make_optimizer, finetune_mode, then train the head."""
    model = _pretrained("part")
    X = _inputs("part", n=48, seed=5)
    g = torch.Generator().manual_seed(6)
    model.eval()
    with torch.no_grad():  # 4 classes a linear head (even without a bias) can learn from these features,
        feats = model.features(X)  # each present (a head of too few outputs must meet a class beyond it)
        y = torch.zeros(0)
        while len(y.unique()) < 4:
            y = ((feats - feats.mean(dim=0)) @ torch.randn(feats.shape[1], 4, generator=g)).argmax(dim=1)
    model.train()
    backbone_before = {name: _plain(t) for name, t in model.features.state_dict().items()}
    mod.freeze(model.features)
    returned = mod.replace_head(model, 4)
    if isinstance(returned, nn.Module):
        model = returned
    optimizer = mod.make_optimizer(model, FT_LR)
    mod.finetune_mode(model)
    losses = []
    for _ in range(FT_STEPS):
        loss = nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    bn_names = [name for name, m in model.features.named_modules() if isinstance(m, _BatchNorm)]
    return FinetuneRun(losses=losses, backbone_before=backbone_before,
                       backbone_after={name: _plain(t) for name, t in model.features.state_dict().items()},
                       param_names=[name for name, _ in model.features.named_parameters()],
                       bn_names=bn_names)
