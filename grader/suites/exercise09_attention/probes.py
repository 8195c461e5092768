"""Probes for exercise09 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import Described, DeviceRun, describe, run_on, warm_meta_values

# float64 finite differences of step eps against autograd (rtol is gradcheck's default; probes do not import checks)
GRADCHECK = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}


def warm():
    """Called once in the zygote."""
    warm_meta_values()


# ---- what the probes return ----

@dataclass
class SdpaCall:
    """scaled_dot_product_attention on one case of `sdpa_inputs`."""
    q: Tensor  # the inputs as given (before any in-place change)
    k: Tensor
    v: Tensor
    mask: Tensor | None
    result_type: str
    inputs_kept: bool  # q, k, v and the mask unchanged afterwards
    result_len: int | None  # a tuple's or list's length, when not a pair
    out: Described | None  # None unless it returned a pair (out, weights)
    weights: Described | None
    up_out: Tensor | None  # with grad: the upstream gradients of out and weights
    up_w: Tensor | None
    grads: list[Tensor | None] | None  # with grad: q's, k's and v's


@dataclass
class MhsaCall:
    """MultiHeadSelfAttention with the suite's weights on `mhsa_inputs`."""
    structure: str  # what is wrong with its qkv and out layers ("" when nothing)
    out: Described | None  # None when the structure is wrong
    grads: dict[str, Tensor | None] | None  # with grad: of x and of each qkv/out parameter


def sdpa_inputs(case):
    """Fixed inputs for scaled_dot_product_attention: (q, k, v, mask or None)."""
    g = torch.Generator().manual_seed(sum(map(ord, case)))
    lead, Tq, Tk, d, dv = (2, 3), 4, 6, 5, 7
    if case == "unbatched":
        lead = ()
    if case == "causal":
        Tq = Tk = 5
    q = torch.randn(*lead, Tq, d, generator=g)
    k = torch.randn(*lead, Tk, d, generator=g)
    v = torch.randn(*lead, Tk, dv, generator=g)
    if case in ("plain", "unbatched"):
        mask = None
    elif case == "full":  # a different random mask for every (batch, head, query)
        mask = torch.rand(*lead, Tq, Tk, generator=g) < 0.4
        keep = torch.randint(Tk, (*lead, Tq, 1), generator=g)
        mask.scatter_(-1, keep, False)  # at least one allowed key per row
    elif case == "pad":  # (B, 1, 1, Tk): key padding for every head and query
        mask = (torch.arange(Tk) >= torch.tensor([6, 3])[:, None])[:, None, None, :]
    elif case == "causal":  # (Tq, Tk), shared by every batch and head
        mask = torch.ones(Tq, Tk, dtype=torch.bool).triu(1)
    elif case == "fully_masked":
        mask = torch.rand(*lead, Tq, Tk, generator=g) < 0.4
        mask[..., :, 0] = False
        mask[0, 1, 2, :] = True
        mask[1, 0, 0, :] = True
        mask[1, 2, 3, :] = True
    else:
        raise ValueError(case)
    return q, k, v, mask


def sdpa_call(mod, case, grad=False) -> SdpaCall:
    q, k, v, mask = sdpa_inputs(case)
    kept = [t.clone() for t in (q, k, v)]
    mask_kept = None if mask is None else mask.clone()
    if grad:
        for t in (q, k, v):
            t.requires_grad_(True)
    result = mod.scaled_dot_product_attention(q, k, v, mask) if mask is not None \
        else mod.scaled_dot_product_attention(q, k, v)
    info = SdpaCall(q=kept[0], k=kept[1], v=kept[2], mask=mask_kept, result_type=type(result).__name__,
                    inputs_kept=all(torch.equal(a.detach(), b) for a, b in zip((q, k, v), kept))
                    and (mask is None or torch.equal(mask, mask_kept)),
                    result_len=None, out=None, weights=None, up_out=None, up_w=None, grads=None)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        info.result_len = len(result) if isinstance(result, (tuple, list)) else None
        return info
    out, weights = result
    info.out, info.weights = describe(out), describe(weights)
    if grad:
        g = torch.Generator().manual_seed(99)
        up_out = torch.randn(out.shape, generator=g)
        up_w = torch.randn(weights.shape, generator=g)
        ((out * up_out).sum() + (weights * up_w).sum()).backward()
        info.up_out, info.up_w = up_out, up_w
        info.grads = [None if t.grad is None else t.grad.clone() for t in (q, k, v)]
    return info


def sdpa_gradcheck(mod) -> bool:
    """Whether torch.autograd.gradcheck passes in float64 on a small masked case (one fully masked row)."""
    g = torch.Generator().manual_seed(5)
    q = torch.randn(2, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    k = torch.randn(2, 5, 4, dtype=torch.float64, generator=g, requires_grad=True)
    v = torch.randn(2, 5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    mask = torch.rand(2, 3, 5, generator=g) < 0.4
    mask[..., 1] = False
    mask[1, 2, :] = True

    def fn(q, k, v):
        out, weights = mod.scaled_dot_product_attention(q, k, v, mask)
        return out, weights

    ok = torch.autograd.gradcheck(fn, (q, k, v), **GRADCHECK, raise_exception=False)
    return bool(ok)


# ----------------------------------------------------------------- MultiHeadSelfAttention


def mhsa_inputs(d_model, n_heads, lengths, T, seed):
    g = torch.Generator().manual_seed(seed)
    B = len(lengths)
    x = torch.randn(B, T, d_model, generator=g)
    w_qkv = torch.randn(3 * d_model, d_model, generator=g) / d_model ** 0.5
    b_qkv = 0.3 * torch.randn(3 * d_model, generator=g)
    w_out = torch.randn(d_model, d_model, generator=g) / d_model ** 0.5
    b_out = 0.3 * torch.randn(d_model, generator=g)
    pad = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
    upstream = torch.randn(B, T, d_model, generator=g)
    return x, (w_qkv, b_qkv, w_out, b_out), pad, upstream


def _structure_problem(model, d_model):
    for name, fan_in, fan_out in (("qkv", d_model, 3 * d_model), ("out", d_model, d_model)):
        layer = getattr(model, name, None)
        if not isinstance(layer, nn.Linear):
            return (f"MultiHeadSelfAttention needs an attribute `{name}` = nn.Linear({fan_in}, {fan_out}) "
                    f"(found {type(layer).__name__})")
        if (layer.in_features, layer.out_features, layer.bias is not None) != (fan_in, fan_out, True):
            return (f"`{name}` should be nn.Linear({fan_in}, {fan_out}) with a bias, found "
                    f"nn.Linear({layer.in_features}, {layer.out_features}, bias={layer.bias is not None})")
    return ""


def mhsa_call(mod, d_model, n_heads, lengths, T, masked, grad=False, seed=0) -> MhsaCall:
    x, (w_qkv, b_qkv, w_out, b_out), pad, upstream = mhsa_inputs(d_model, n_heads, lengths, T, seed)
    torch.manual_seed(0)
    model = mod.MultiHeadSelfAttention(d_model, n_heads)
    problem = _structure_problem(model, d_model)
    if problem:
        return MhsaCall(structure=problem, out=None, grads=None)
    with torch.no_grad():
        model.qkv.weight.copy_(w_qkv)
        model.qkv.bias.copy_(b_qkv)
        model.out.weight.copy_(w_out)
        model.out.bias.copy_(b_out)
    x_in = x.clone().requires_grad_(grad)
    out = model(x_in, pad.clone()) if masked else model(x_in)
    info = MhsaCall(structure="", out=describe(out), grads=None)
    if grad:
        (out * upstream).sum().backward()
        grads = {
            "x": x_in.grad,
            **{f"{m}.{p}": getattr(getattr(model, m), p).grad
               for m in ("qkv", "out") for p in ("weight", "bias")},
        }
        info.grads = {n: None if t is None else t.clone() for n, t in grads.items()}
    return info


def device_runs(mod, device) -> dict[str, DeviceRun]:
    """scaled_dot_product_attention (no mask, a mask with fully masked rows) and MultiHeadSelfAttention
    moved to `device` (no pad_mask, a pad_mask; forward and backward), with inputs there; an error is
    data (on meta, values read are ones)."""
    q, k, v, mask = sdpa_inputs("fully_masked")
    q, k, v, mask = (t.to(device) for t in (q, k, v, mask))
    x, _, pad, _ = mhsa_inputs(8, 2, [5, 3], 5, seed=4)
    torch.manual_seed(0)
    model = mod.MultiHeadSelfAttention(8, 2).to(device)
    x, pad = x.to(device), pad.to(device)

    def mhsa(*args):
        out = model(x, *args)
        out.float().sum().backward()
        return out

    return {"sdpa": run_on(lambda: mod.scaled_dot_product_attention(q, k, v), device),
            "sdpa_mask": run_on(lambda: mod.scaled_dot_product_attention(q, k, v, mask), device),
            "mhsa": run_on(mhsa, device), "mhsa_pad": run_on(lambda: mhsa(pad), device)}
