"""Hidden checks for exercise07_norms.

Expected values come from torch's own nn.BatchNorm1d / nn.LayerNorm, run here in the
trusted process on the inputs the probe used; known mistakes are recognised by re-running
the computation with that mistake (`_bn_variant`, `_ln_variant`).
"""

from dataclasses import replace

import torch
from torch import nn

from grader.checks import EXACT, FLOAT32_LAYERS, FLOAT64, Mistake, check, close, expect
from grader.suites.exercise07_norms.probes import Failed, NotMoved
from grader.suites.trusted_side import tensor_of

STATS = ("running_mean", "running_var")


# ---------------------------------------------------------------- helpers (trusted side)

def _loaded(got, layer):
    error = got.error if isinstance(got, Failed) else None
    if error:
        hint = (": the per-channel statistics, weight and bias have shape (C,) and broadcast against the last "
                "dim L; reshape them to (1, C, 1) (e.g. mean.view(1, -1, 1), or keepdim=True over dims 0 and 2)"
                if "must match the size" in error else "")
        raise Mistake(f"{layer} raised {error} on an (N, C, L) input{hint}")
    problem = None if isinstance(got, (Failed, NotMoved)) else got.load_problem
    if problem is None:
        return
    name = problem.name
    if problem.shape is not None:
        raise Mistake(f"{layer}.{name} has shape {tuple(problem.shape)}; the grader sets known "
                      "values through that attribute and expects the shape nn." + layer + " uses")
    raise Mistake(f"{layer} has no tensor attribute `{name}` (found {problem.found}); the grader "
                  f"sets known values through the attribute names weight, bias"
                  + (", running_mean, running_var" if layer == "BatchNorm1d" else ""))


def _torch_bn(got, dtype=torch.float32):
    """nn.BatchNorm1d on the probe's batches: train outputs, stats after each, eval output."""
    state = got.state
    bn = nn.BatchNorm1d(state["weight"].numel(), eps=got.eps, momentum=got.momentum).to(dtype)
    with torch.no_grad():
        for k, v in state.items():
            getattr(bn, k).copy_(v)
    outs, stats = [], []
    with torch.no_grad():
        bn.train()
        for x in got.batches:
            outs.append(bn(x.to(dtype)))
            stats.append({k: getattr(bn, k).clone() for k in STATS})
        bn.eval()
        eval_out = bn(got.eval_x.to(dtype))
    return outs, stats, eval_out


def _bn_variant(got, variant):
    """What a BatchNorm1d with a known mistake gives on the probe's batches (float64)."""
    state = {k: v.double() for k, v in got.state.items()}
    eps, m = got.eps, got.momentum
    if variant == "eps_ignored":
        eps = 1e-5
    rm, rv = state["running_mean"].clone(), state["running_var"].clone()
    outs, stats = [], []

    def normalise(x, mean, var, shape):
        if variant == "eps_outside":
            x_hat = (x - mean.reshape(shape)) / (var.reshape(shape).sqrt() + eps)
        elif variant == "eps_clamped":
            x_hat = (x - mean.reshape(shape)) / var.reshape(shape).clamp(min=eps).sqrt()
        else:
            x_hat = (x - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt()
        return x_hat * state["weight"].reshape(shape) + state["bias"].reshape(shape)

    for x in got.batches:
        x = x.double()
        dims = [0] if x.dim() == 2 else [0, 2]
        shape = [1, -1] + [1] * (x.dim() - 2)
        if variant == "over_features":
            mean, var = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
            y = (x - mean) / (var + eps).sqrt()
            outs.append(y * state["weight"].reshape(shape) + state["bias"].reshape(shape))
            stats.append({"running_mean": rm.clone(), "running_var": rv.clone()})
            continue
        if variant == "per_position":
            dims, shape = [0], [1] + list(x.shape[1:])
        mean, var_b = x.mean(dims), x.var(dims, unbiased=False)
        n = x.numel() // mean.numel()
        var_u = var_b * n / (n - 1)
        outs.append(normalise(x, mean, var_u if variant == "unbiased_norm" else var_b, shape))
        src = {"biased_running": var_b, "bessel_batch_only": var_b * x.shape[0] / (x.shape[0] - 1)}.get(variant, var_u)
        if variant == "momentum_reversed":
            rm, rv = m * rm + (1 - m) * mean, m * rv + (1 - m) * src
        elif variant == "no_momentum":
            rm, rv = mean.clone(), src.clone()
        elif variant != "no_update":
            rm, rv = (1 - m) * rm + m * mean, (1 - m) * rv + m * src
        stats.append({"running_mean": rm.clone(), "running_var": rv.clone()})
    x = got.eval_x.double()
    dims = [0] if x.dim() == 2 else [0, 2]
    shape = [1, -1] + [1] * (x.dim() - 2)
    if variant == "eval_batch_stats":
        eval_out = normalise(x, x.mean(dims), x.var(dims, unbiased=False), shape)
    else:
        eval_out = normalise(x, rm, rv, shape) if rm.dim() == 1 else None
    return outs, stats, eval_out


BN_OUTPUT_MISTAKES = {
    "unbiased_norm": "the batch was normalised with the unbiased variance (divides by n - 1); "
                     "normalise with the biased one (x.var(..., unbiased=False)) and use the "
                     "unbiased one only for running_var",
    "eps_ignored": "the eps passed to BatchNorm1d(..., eps=...) was not used",
    "eps_outside": "eps must be added to the variance inside the square root: (x - mean) / sqrt(var + eps)",
    "eps_clamped": "eps was used as a floor on the variance (var.clamp(min=eps)); it is added to it, "
                   "(x - mean) / sqrt(var + eps), so it changes every channel, not only the quiet ones",
    "over_features": "the statistics were taken over the features of each sample (dim 1); batch "
                     "norm takes them per feature over the batch (dim 0)",
    "per_position": "for (N, C, L) input the statistics were taken per position; take them per "
                    "channel over dims 0 and 2 (N and L)",
}

BN_STATS_MISTAKES = {
    "no_update": "the running statistics were not updated in train mode",
    "biased_running": "running_var was updated with the biased batch variance; use the unbiased "
                      "one (n / (n - 1) times the biased variance, n values per channel)",
    "bessel_batch_only": "the unbiased correction for (N, C, L) input must use n = N·L values per "
                         "channel, not n = N",
    "momentum_reversed": "the momentum convention is reversed: running = (1 - momentum) * running "
                         "+ momentum * batch_statistic (PyTorch's convention; momentum=0.1 moves 10% "
                         "towards the batch)",
    "no_momentum": "the running statistics were replaced by the batch statistics; blend them with "
                   "momentum: running = (1 - momentum) * running + momentum * batch_statistic",
}


def _diagnose(actual, got, index, kind, mistakes, fallback):
    """Name a known mistake that reproduces `actual`, else raise `fallback`."""
    for variant, message in mistakes.items():
        outs, stats, eval_out = _bn_variant(got, variant)
        want = {"out": outs[index] if kind == "out" else None, "eval": eval_out}.get(kind)
        if kind in STATS:
            want = stats[index][kind]
        if want is not None and actual.shape == want.shape and close(actual.double(), want, tol=FLOAT32_LAYERS):
            raise Mistake(message)
    raise Mistake(fallback)


def _tensor(desc, what, shape, dtype="torch.float32"):
    return tensor_of(desc, what, shape=shape, dtype=dtype)


def _check_train_outputs(got, context):
    _loaded(got, "BatchNorm1d")
    outs, _, _ = _torch_bn(got)
    for i, (desc, want) in enumerate(zip(got.outs, outs)):
        y = _tensor(desc, f"BatchNorm1d's output ({context})", list(want.shape))
        if not close(y, want, tol=FLOAT32_LAYERS):
            _diagnose(y, got, i, "out", BN_OUTPUT_MISTAKES,
                      f"BatchNorm1d's train-mode output differs from nn.BatchNorm1d ({context}, batch {i + 1})")


def _check_stats(got, context):
    _loaded(got, "BatchNorm1d")
    _, stats, _ = _torch_bn(got)
    for i, want in enumerate(stats):
        for name in STATS:
            value = _tensor(getattr(got.stats[i], name), f"{name} after a train-mode forward ({context})",
                            list(want[name].shape))
            expect(not getattr(got.stats[i], name).has_graph,
                   f"{name} carries an autograd graph after a train-mode forward (it has a grad_fn, so "
                   "every step's graph is kept alive): update the running statistics under "
                   "torch.no_grad() or from detached batch statistics")
            if close(value, want[name], tol=FLOAT32_LAYERS):
                continue
            if i == 0 and close(value, got.state[name], tol=FLOAT32_LAYERS):
                raise Mistake(f"{name} did not change after a train-mode forward: update the running "
                              "statistics in train mode (under torch.no_grad())")
            _diagnose(value, got, i, name, BN_STATS_MISTAKES,
                      f"{name} differs from nn.BatchNorm1d's after train-mode forward {i + 1} ({context})")


def _held(got, name):
    """the running statistic `name` the layer held before its eval-mode forward: after the last
    train-mode forward, else the loaded one; None when it is no tensor."""
    if not got.stats:
        return got.state[name]
    desc = getattr(got.stats[-1], name)
    return desc.values if desc.is_tensor else None


def _check_eval(got, context):
    _loaded(got, "BatchNorm1d")
    for name in STATS:
        before = _held(got, name)
        after = _tensor(getattr(got.eval_stats, name), f"{name} after an eval-mode forward", None)
        expect(before is not None and close(after, before, tol=EXACT),
               f"{name} changed during an eval-mode forward: only update the running statistics "
               "in train mode (check self.training)")
    # expected: nn.BatchNorm1d in eval mode with the running statistics the submission holds
    state = {**got.state, **{k: _held(got, k) for k in STATS}}
    want = _torch_bn(replace(got, state=state, batches=[]))[2]
    y = _tensor(got.eval_out, f"BatchNorm1d's eval-mode output ({context})", list(want.shape))
    if close(y, want, tol=FLOAT32_LAYERS):
        return
    x = got.eval_x.double()
    dims = [0] if x.dim() == 2 else [0, 2]
    shape = [1, -1] + [1] * (x.dim() - 2)
    w, b = state["weight"].double().reshape(shape), state["bias"].double().reshape(shape)
    for var in (x.var(dims, unbiased=False), x.var(dims)):
        batch = (x - x.mean(dims).reshape(shape)) / (var.reshape(shape) + got.eps).sqrt() * w + b
        if close(y.double(), batch, tol=FLOAT32_LAYERS):
            raise Mistake("in eval mode BatchNorm1d still normalised with the batch statistics; use "
                          "running_mean and running_var when not self.training")
    raise Mistake(f"BatchNorm1d's eval-mode output differs from nn.BatchNorm1d's with the same "
                  f"weight, bias and running statistics ({context})")


def _grads_check(got, want_out, want_grads, layer, context, detach_variant=None):
    _loaded(got, layer)
    out = _tensor(got.out, f"{layer}'s output in float64 ({context})", list(want_out.shape), "torch.float64")
    if not close(out, want_out, tol=FLOAT64):
        diff = (out - want_out).abs().max().item()
        raise Mistake(f"{layer}'s output for a float64 input differs from nn.{layer}'s ({context}, "
                      f"largest difference {diff:.2g}), so its gradients cannot match: fix the "
                      "forward pass first, (x - mean) / sqrt(var + eps) * weight + bias")
    names = {"x_grad": "the input", "weight_grad": "weight", "bias_grad": "bias"}
    for key, what in names.items():
        d = getattr(got, key)
        expect(d.is_tensor, f"no gradient reached {what} of {layer} ({context}): "
               + ("keep weight and bias as nn.Parameters used in forward" if key != "x_grad"
                  else "the output must be computed from the input with differentiable operations"))
        g = _tensor(d, f"the gradient of {what}", list(want_grads[key].shape), "torch.float64")
        if close(g, want_grads[key], tol=FLOAT64):
            continue
        if key == "x_grad" and detach_variant is not None and close(g, detach_variant, tol=FLOAT64):
            raise Mistake(f"the input gradient of {layer} is that of a layer whose mean and variance "
                          "are constants: do not detach the statistics (or compute them from "
                          "x.detach()); the gradient must flow through them")
        raise Mistake(f"the gradient of {what} differs from nn.{layer}'s ({context})")


def _bn_torch_grads(got, train):
    state = got.state
    bn = nn.BatchNorm1d(state["weight"].numel()).double()
    with torch.no_grad():
        for k, v in state.items():
            getattr(bn, k).copy_(v)
    bn.train(train)
    x = got.x.clone().requires_grad_(True)
    out = bn(x)
    (out * got.grad_out).sum().backward()
    grads = {"x_grad": x.grad, "weight_grad": bn.weight.grad, "bias_grad": bn.bias.grad}
    detached = None
    if train:
        dims = [0] if x.dim() == 2 else [0, 2]
        shape = [1, -1] + [1] * (x.dim() - 2)
        var = x.detach().var(dims, unbiased=False).reshape(shape)
        detached = got.grad_out * state["weight"].reshape(shape) / (var + 1e-5).sqrt()
    return out.detach(), grads, detached


# ---------------------------------------------------------------- api

@check("api")
def test_api(student):
    """BatchNorm1d and LayerNorm exist with the README's signatures; outputs have the input's shape"""
    student.expect_api()
    got = student.run("bn_run", shape=[6, 3], steps=1)
    _tensor(got.outs[0], "BatchNorm1d's output for a (6, 3) input", [6, 3])
    got = student.run("ln_run", shape=[3, 4, 6], normalized_shape=[6], as_int=True)
    _tensor(got.train_out, "LayerNorm(6)'s output for a (3, 4, 6) input", [3, 4, 6])


@check("api")
def test_bn_state(student):
    """BatchNorm1d: parameters weight, bias (ones, zeros); buffers running_mean, running_var (zeros, ones)"""
    got = student.run("bn_structure")
    params, buffers = got.params, got.buffers
    for name in STATS:
        expect(name not in params, f"{name} is an nn.Parameter; it is no parameter to train: "
               f"register it with self.register_buffer({name!r}, ...)")
    for name in ("weight", "bias"):
        expect(name in params, f"BatchNorm1d has no parameter named `{name}`: make it an nn.Parameter "
               f"assigned to self.{name}")
    expect(set(params) == {"weight", "bias"}, f"BatchNorm1d should have exactly the parameters weight and "
           f"bias, it has {sorted(params)}")
    for name in STATS:
        if name not in buffers:
            kind = got.attrs[name]
            raise Mistake(f"{name} is not a registered buffer" + (
                " (it is a plain tensor attribute, so it is not in the state_dict and does not move "
                "with .to())" if kind.is_tensor else "") + f": use self.register_buffer({name!r}, ...)")
    want = {"weight": torch.ones(3), "bias": torch.zeros(3), "running_mean": torch.zeros(3),
            "running_var": torch.ones(3)}
    for name, value in want.items():
        desc = params.get(name) or buffers.get(name)
        t = _tensor(desc, f"{name} of BatchNorm1d(3)", [3])
        expect(close(t, value, tol=EXACT), f"{name} of a fresh BatchNorm1d should start as "
               f"{'ones' if value[0] == 1 else 'zeros'}, got {t.tolist()}")
    missing = [k for k in want if k not in got.keys]
    expect(not missing, f"the state_dict lacks {missing}")
    expect(not got.unexpected, f"load_state_dict did not accept {got.unexpected}")
    expect(close(got.loaded, got.state, tol=EXACT),
           "after load_state_dict the state_dict does not hold the loaded values")


@check("api")
def test_ln_parameters(student):
    """LayerNorm: parameters weight (ones) and bias (zeros) of shape normalized_shape, int or tuple"""
    for ns, as_int in (([6], True), ([4, 6], False)):
        got = student.run("ln_structure", normalized_shape=ns, as_int=as_int)
        arg = ns[0] if as_int else tuple(ns)
        params = got.params
        expect(set(params) == {"weight", "bias"}, f"LayerNorm({arg}) should have exactly the parameters "
               f"weight and bias, it has {sorted(params)}")
        for name, fill in (("weight", 1.0), ("bias", 0.0)):
            t = _tensor(params[name], f"{name} of LayerNorm({arg})", ns)
            expect(close(t, torch.full(ns, fill), tol=EXACT),
                   f"{name} of a fresh LayerNorm should start as {'ones' if fill else 'zeros'}")


# ---------------------------------------------------------------- BatchNorm1d values

@check("values", points=2)
def test_bn_train_values(student):
    """BatchNorm1d in train mode normalises each feature with the batch mean and biased variance"""
    for kwargs, context in (({"shape": [6, 3]}, "(6, 3) input"),
                            ({"shape": [8, 4], "eps": 0.1, "momentum": 0.3, "seed": 1, "quiet": True},
                             "(8, 4) input, eps=0.1")):
        _check_train_outputs(student.run("bn_run", **kwargs), context)


@check("values", points=2)
def test_bn_running_stats(student):
    """BatchNorm1d updates running_mean and running_var like nn.BatchNorm1d (momentum, unbiased variance)"""
    for kwargs, context in (({"shape": [6, 3]}, "momentum=0.1"),
                            ({"shape": [8, 4], "eps": 0.1, "momentum": 0.3, "seed": 1}, "momentum=0.3")):
        _check_stats(student.run("bn_run", **kwargs), context)


@check("modes", points=2)
def test_bn_eval(student):
    """BatchNorm1d in eval mode normalises with the running statistics and leaves them alone"""
    _check_eval(student.run("bn_run", shape=[6, 3], steps=0), "(6, 3) input, loaded running statistics")
    _check_eval(student.run("bn_run", shape=[6, 3], steps=2, seed=2), "(6, 3) input, after two train steps")


@check("values", points=2)
def test_bn_3d(student):
    """BatchNorm1d on (N, C, L) input: statistics per channel over N and L, like nn.BatchNorm1d"""
    got = student.run("bn_run", shape=[4, 3, 5], seed=3)
    _check_train_outputs(got, "(4, 3, 5) input")
    _check_stats(got, "(4, 3, 5) input")
    _check_eval(got, "(4, 3, 5) input")


@check("gradients", points=2)
def test_bn_gradients(student):
    """BatchNorm1d's gradients (input, weight, bias) match nn.BatchNorm1d's in float64"""
    for shape, train in (([6, 3], True), ([4, 3, 5], True), ([6, 3], False)):
        got = student.run("bn_grads", shape=shape, train=train)
        for name, dtype in (got.not_moved if isinstance(got, NotMoved) else {}).items():
            raise Mistake(f"{name} stayed {dtype} after module.to(torch.float64): it is not a "
                          f"registered buffer; use self.register_buffer({name!r}, ...) so it follows "
                          ".to() and .double()")
        _loaded(got, "BatchNorm1d")
        out, grads, detached = _bn_torch_grads(got, train)
        context = f"{tuple(shape)} input, {'train' if train else 'eval'} mode"
        _grads_check(got, out, grads, "BatchNorm1d", context, detached)


# ---------------------------------------------------------------- LayerNorm

def _torch_ln(got, dtype=torch.float32):
    state = got.state
    ln = nn.LayerNorm(tuple(state["weight"].shape), eps=got.eps).to(dtype)
    with torch.no_grad():
        for k, v in state.items():
            getattr(ln, k).copy_(v)
    with torch.no_grad():
        return ln(got.x.to(dtype))


def _ln_variant(got, dims, unbiased=False, eps_how="inside"):
    x, state = got.x.double(), {k: v.double() for k, v in got.state.items()}
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
    eps = got.eps
    std = {"inside": (var + eps).sqrt(), "outside": var.sqrt() + eps, "clamped": var.clamp(min=eps).sqrt()}[eps_how]
    return (x - mean) / std * state["weight"] + state["bias"]


LN_CASES = [
    ({"shape": [3, 4, 6], "normalized_shape": [6], "as_int": True}, "LayerNorm(6) on (3, 4, 6) input"),
    ({"shape": [3, 4, 6], "normalized_shape": [4, 6]}, "LayerNorm((4, 6)) on (3, 4, 6) input"),
    ({"shape": [2, 5, 4, 3], "normalized_shape": [4, 3], "eps": 0.1, "seed": 1, "quiet": True},
     "LayerNorm((4, 3), eps=0.1) on (2, 5, 4, 3) input"),
]


@check("values", points=2)
def test_ln_values(student):
    """LayerNorm normalises each sample over the last len(normalized_shape) dims, like nn.LayerNorm"""
    for kwargs, context in LN_CASES:
        got = student.run("ln_run", **kwargs)
        _loaded(got, "LayerNorm")
        want = _torch_ln(got)
        y = _tensor(got.train_out, f"the output of {context}", list(want.shape))
        if close(y, want, tol=FLOAT32_LAYERS):
            continue
        k, nd = len(kwargs["normalized_shape"]), got.x.dim()
        last = tuple(range(-k, 0))
        dims_text = "dim" if k == 1 else f"{k} dims"
        variants = {
            "LayerNorm normalised with the unbiased variance (divides by n - 1); use the biased one "
            "(unbiased=False), as nn.LayerNorm does":
                _ln_variant(got, last, unbiased=True),
            f"{context} must normalise over the last {k} dims, not only the last one":
                _ln_variant(got, (-1,)) if k > 1 else None,
            "the statistics were taken over the batch dimension; LayerNorm normalises each sample on its own":
                _ln_variant(got, (0,)),
            "the statistics were taken over the whole tensor; LayerNorm normalises each sample on its own "
            f"over its last {dims_text}": _ln_variant(got, tuple(range(nd))),
            f"the statistics were taken over every dim but the batch dim; normalise over the last "
            f"{dims_text} only (len(normalized_shape))": _ln_variant(got, tuple(range(1, nd))) if nd - 1 != k else None,
            "the eps passed to LayerNorm(..., eps=...) was not used":
                _ln_variant(replace(got, eps=1e-5), last) if got.eps != 1e-5 else None,
            "eps was added to the standard deviation; it must be added to the variance inside the square root: "
            "(x - mean) / sqrt(var + eps), not (x - mean) / (sqrt(var) + eps)":
                _ln_variant(got, last, eps_how="outside"),
            "eps was used as a floor on the variance (var.clamp(min=eps)); it is added to it, "
            "(x - mean) / sqrt(var + eps)": _ln_variant(got, last, eps_how="clamped"),
        }
        for message, value in variants.items():
            if value is not None and close(y.double(), value, tol=FLOAT32_LAYERS):
                raise Mistake(message)
        raise Mistake(f"the output of {context} differs from nn.LayerNorm's")


@check("modes")
def test_ln_modes(student):
    """LayerNorm gives the same output in train and eval mode, whatever else is in the batch"""
    for kwargs, context in LN_CASES[:2]:
        got = student.run("ln_run", **kwargs)
        train = _tensor(got.train_out, f"the output of {context}", None)
        for key, what in (("eval_out", "in eval mode"), ("again_out", "back in train mode")):
            out = _tensor(getattr(got, key), f"the output of {context} {what}", list(train.shape))
            expect(close(out, train, tol=FLOAT32_LAYERS),
                   f"{context} gave another output {what}; LayerNorm has no running statistics and "
                   "behaves the same in train and eval mode")
        single = _tensor(got.single_out, f"the output of {context} for one sample", [1] + list(train.shape[1:]))
        expect(close(single, train[:1], tol=FLOAT32_LAYERS),
               f"a sample's output from {context} changed when it was passed alone: LayerNorm must "
               "normalise every sample on its own, never using the rest of the batch")


def _ln_torch_grads(got):
    state = got.state
    ln = nn.LayerNorm(tuple(state["weight"].shape)).double()
    with torch.no_grad():
        for k, v in state.items():
            getattr(ln, k).copy_(v)
    x = got.x.clone().requires_grad_(True)
    out = ln(x)
    (out * got.grad_out).sum().backward()
    grads = {"x_grad": x.grad, "weight_grad": ln.weight.grad, "bias_grad": ln.bias.grad}
    dims = tuple(range(-state["weight"].dim(), 0))
    var = x.detach().var(dims, unbiased=False, keepdim=True)
    detached = got.grad_out * state["weight"] / (var + 1e-5).sqrt()
    return out.detach(), grads, detached


@check("gradients", points=2)
def test_ln_gradients(student):
    """LayerNorm's gradients (input, weight, bias) match nn.LayerNorm's in float64"""
    for kwargs, context in LN_CASES[:2]:
        kwargs = {k: v for k, v in kwargs.items() if k != "eps"}
        got = student.run("ln_grads", **kwargs)
        out, grads, detached = _ln_torch_grads(got)
        _grads_check(got, out, grads, "LayerNorm", context, detached)


# ---------------------------------------------------------------- from scratch

@check("values", points=2)
def test_no_library_norms(student):
    """BatchNorm1d and LayerNorm are written from scratch (torch's own norm layers refused)"""
    got = student.run("library_norms")
    for layer in ("BatchNorm1d", "LayerNorm"):
        used = got.get(layer) or []
        expect(not used, f"your {layer} relied on {', '.join(used)}, which this exercise forbids "
               "(the grader replaces torch's norm functions and layers with ones that refuse to "
               "run): compute the mean and variance with tensor operations yourself")
