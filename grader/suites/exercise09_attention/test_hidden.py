"""Hidden checks for exercise09_attention.

Expected values are computed here, in the trusted process, from the suite's own fixed
inputs: scaled_dot_product_attention by a float64 re-implementation, MultiHeadSelfAttention
by torch's nn.MultiheadAttention given the same weights.
"""

import itertools
import math

import torch
from torch import nn

from grader.checks import ROUNDING, Mistake, check, close, expect, expect_close
from grader.suites.trusted_side import expect_device_runs, tensor_of
from grader.suites.exercise09_attention.probes import mhsa_inputs, sdpa_inputs

# ----------------------------------------------------------------- scaled dot-product attention


def _sdpa(q, k, v, mask, scale="sqrt_d", dim=-1, how="ok"):
    """float64 attention; the keyword arguments reproduce known mistakes."""
    q, k, v = q.double(), k.double(), v.double()
    scores = q @ k.transpose(-2, -1)
    scores = scores / {"sqrt_d": math.sqrt(q.shape[-1]), "none": 1.0, "d": q.shape[-1],
                       "sqrt_dv": math.sqrt(v.shape[-1])}[scale]
    m = None if mask is None else (~mask if how == "inverted" else mask)
    if m is not None and how in ("ok", "inverted"):
        scores = scores.masked_fill(m, float("-inf")).masked_fill(m.all(-1, keepdim=True), 0.0)
    if m is not None and how == "zero_fill":
        scores = scores.masked_fill(m, 0.0)
    if m is not None and how == "big_negative":
        scores = scores.masked_fill(m, -1e9)
    weights = torch.softmax(scores, dim=dim)
    if m is not None and how in ("ok", "inverted", "after"):
        weights = weights.masked_fill(m, 0.0)
    return weights @ v, weights


SDPA_MISTAKES = [
    ({"scale": "none"}, "the scores are not scaled: divide q kᵀ by sqrt(d), d = q.size(-1)"),
    ({"scale": "d"}, "the scores are divided by d instead of sqrt(d)"),
    ({"scale": "sqrt_dv"}, "the scores are scaled with v's last dimension: use d = q.size(-1) (or k's)"),
    ({"dim": -2}, "the softmax runs over the wrong dim (the queries): each query's weights must sum to 1 "
                  "over the keys, softmax(dim=-1)"),
    ({"how": "inverted"}, "the mask polarity is inverted: mask True means NOT allowed (weight 0) — the "
                          "opposite of F.scaled_dot_product_attention's boolean attn_mask"),
    ({"how": "after"}, "the mask is applied after the softmax: zeroing weights afterwards leaves rows that no "
                       "longer sum to 1; fill the masked scores with -inf BEFORE the softmax"),
    ({"how": "zero_fill"}, "masked scores are set to 0, which still gives them weight: fill them with -inf "
                           "before the softmax"),
]


def _sdpa_result(student, case, grad=False):
    got = student.run("sdpa_call", case=case, grad=grad)
    if got.out is None:
        raise Mistake(f"scaled_dot_product_attention should return a pair (out, weights), got a "
                      f"{got.result_type}" + (f" of length {got.result_len}" if got.result_len else ""))
    q, k, v, mask = sdpa_inputs(case)
    shape_w = [*q.shape[:-1], k.shape[-2]]
    shape_o = [*q.shape[:-1], v.shape[-1]]
    weights = tensor_of(got.weights, f"the weights ({case} case)", shape=shape_w)
    out = tensor_of(got.out, f"the output ({case} case)", shape=shape_o)
    return got, (q, k, v, mask), out, weights


def _expect_sdpa(student, case):
    got, (q, k, v, mask), out, weights = _sdpa_result(student, case)
    want_out, want_w = _sdpa(q, k, v, mask)
    if not (close(weights, want_w.float()) and close(out, want_out.float())):
        if weights.isnan().any() or out.isnan().any():
            raise Mistake(f"the result contains NaN ({case} case)" + (
                ": a query whose keys are ALL masked must get zero weights and a zero output (softmax of a "
                "row of -inf is NaN; handle that row)" if mask is not None and mask.all(-1).any() else ""))
        for kwargs, message in SDPA_MISTAKES:
            if mask is None and "how" in kwargs:
                continue
            bad_out, bad_w = _sdpa(q, k, v, mask, **kwargs)
            if close(weights, bad_w.float()):
                raise Mistake(f"{message} ({case} case)")
        if mask is not None:
            blocked = weights.masked_select(mask.expand_as(weights))
            expect(close(blocked, torch.zeros_like(blocked), tol=ROUNDING),
                   f"masked keys get nonzero weight ({case} case): mask True means NOT allowed")
            sums = weights.double().sum(-1)
            allowed = ~mask.expand_as(weights).all(-1)
            expect(close(sums[allowed], torch.ones_like(sums[allowed])),
                   f"each query's weights must sum to 1 over its allowed keys ({case} case)")
        expect_close(weights, want_w.float(), f"the attention weights are wrong ({case} case)")
        expect_close(out, want_out.float(), f"out should be weights @ v ({case} case)")
    expect(got.inputs_kept, "scaled_dot_product_attention changed q, k, v or the mask in place "
           "(e.g. q /= ...): use out-of-place operations")


@check("api")
def test_api(student):
    """The names exist with the README's signatures; (out, weights) and the module's output have the right shapes"""
    student.expect_api()
    _sdpa_result(student, "plain")
    got = student.run("mhsa_call", d_model=8, n_heads=2, lengths=[5, 5], T=5, masked=False)
    expect(not got.structure, got.structure)
    tensor_of(got.out, "MultiHeadSelfAttention's output", shape=[2, 5, 8])


@check("values", points=2)
def test_sdpa_values(student):
    """Without a mask: weights = softmax(q kᵀ / sqrt(d)) over the keys, out = weights v (batched and unbatched)"""
    for case in ("plain", "unbatched"):
        _expect_sdpa(student, case)


@check("values", points=2)
def test_sdpa_mask(student):
    """With a full (B, H, Tq, Tk) mask, masked keys get weight exactly 0 and each row still sums to 1"""
    _expect_sdpa(student, "full")


@check("values")
def test_sdpa_mask_broadcasting(student):
    """Masks broadcast: a (B, 1, 1, Tk) key padding mask and a (Tq, Tk) causal mask"""
    for case in ("pad", "causal"):
        _expect_sdpa(student, case)


@check("values")
def test_sdpa_fully_masked(student):
    """A query whose keys are all masked gets zero weights and a zero output, never NaN"""
    got, (q, k, v, mask), out, weights = _sdpa_result(student, "fully_masked")
    dead = mask.all(-1)
    expect(not (weights.isnan().any() or out.isnan().any()),
           "a query whose keys are ALL masked gives NaN: softmax over a row of -inf is 0/0; give such rows "
           "zero weights and a zero output (e.g. fill them with 0 before the softmax and zero the masked "
           "weights after it)")
    if not close(weights[dead], torch.zeros_like(weights[dead])):
        _, uniform = _sdpa(q, k, v, mask, how="big_negative")
        if close(weights[dead], uniform[dead].float()):
            raise Mistake("a query whose keys are all masked gets uniform weights (1/Tk each, from filling "
                          "with a large negative number): its weights and output must be zero")
        raise Mistake("a query whose keys are all masked must get zero weights")
    expect(close(out[dead], torch.zeros_like(out[dead])), "a query whose keys are all masked must get a zero output")
    _expect_sdpa(student, "fully_masked")


def _sdpa_grads(case, up_out, up_w):
    q, k, v, mask = sdpa_inputs(case)
    q, k, v = (t.double().requires_grad_(True) for t in (q, k, v))
    out, weights = _sdpa(q, k, v, mask)
    ((out * up_out.double()).sum() + (weights * up_w.double()).sum()).backward()
    return [t.grad for t in (q, k, v)]


@check("gradients", points=2)
def test_sdpa_gradients(student):
    """Gradients w.r.t. q, k and v are right and finite (also with fully masked rows); gradcheck passes in float64"""
    for case in ("full", "fully_masked"):
        got = student.run("sdpa_call", case=case, grad=True)
        if got.out is None:
            raise Mistake("scaled_dot_product_attention should return a pair (out, weights)")
        want = _sdpa_grads(case, got.up_out, got.up_w)
        for name, g, w in zip("qkv", got.grads, want):
            expect(g is not None, f"no gradient reached {name} ({case} case): is the result detached?")
            expect(torch.isfinite(g).all(), f"the gradient w.r.t. {name} has NaN or inf ({case} case): "
                   "a fully masked row must not produce NaN anywhere, not even in the backward pass")
            expect_close(g, w.float(), f"the gradient w.r.t. {name} is wrong ({case} case)")
    expect(student.run("sdpa_gradcheck"), "torch.autograd.gradcheck fails on your function (float64, "
           "masked, one fully masked row)")


# ----------------------------------------------------------------- multi-head self-attention

CONFIGS = [  # d_model, n_heads, lengths, T
    (8, 2, [5, 3], 5),
    (12, 4, [6, 2, 4], 6),
]


def _torch_mha(d_model, n_heads, lengths, T, masked, seed=0):
    """Output and gradients of nn.MultiheadAttention (float64) with the suite's weights."""
    x, (w_qkv, b_qkv, w_out, b_out), pad, upstream = mhsa_inputs(d_model, n_heads, lengths, T, seed)
    mha = nn.MultiheadAttention(d_model, n_heads, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(w_qkv)
        mha.in_proj_bias.copy_(b_qkv)
        mha.out_proj.weight.copy_(w_out)
        mha.out_proj.bias.copy_(b_out)
    x = x.double().requires_grad_(True)
    out, _ = mha(x, x, x, key_padding_mask=pad if masked else None, need_weights=False)
    (out * upstream.double()).sum().backward()
    grads = {"x": x.grad, "qkv.weight": mha.in_proj_weight.grad, "qkv.bias": mha.in_proj_bias.grad,
             "out.weight": mha.out_proj.weight.grad, "out.bias": mha.out_proj.bias.grad}
    return out.detach(), grads


def _manual_mha(x, params, n_heads, pad, order=(0, 1, 2), split="ok", merge="ok", scale="head", mask="ok"):
    """float64 multi-head attention; the keyword arguments reproduce known mistakes."""
    w_qkv, b_qkv, w_out, b_out = (p.double() for p in params)
    x = x.double()
    B, T, D = x.shape
    H, dh = n_heads, D // n_heads
    chunks = (x @ w_qkv.T + b_qkv).chunk(3, dim=-1)
    q, k, v = (chunks[i] for i in order)

    def sp(t):
        if split == "flat":
            return t.reshape(B, H, T, dh)
        if split == "interleaved":
            return t.view(B, T, dh, H).permute(0, 3, 1, 2)
        return t.view(B, T, H, dh).transpose(1, 2)

    m = None
    if pad is not None and mask != "ignored":
        m = (pad if mask == "ok" else ~pad)[:, None, None, :]
    scores = sp(q) @ sp(k).transpose(-2, -1) / math.sqrt(dh if scale == "head" else D)
    if m is not None:
        scores = scores.masked_fill(m, float("-inf")).masked_fill(m.all(-1, keepdim=True), 0.0)
    weights = torch.softmax(scores, -1)
    if m is not None:
        weights = weights.masked_fill(m, 0.0)
    o = weights @ sp(v)
    o = o.reshape(B, T, D) if merge == "flat" else o.transpose(1, 2).reshape(B, T, D)
    return o @ w_out.T + b_out


def _diagnose_mha(out, d_model, n_heads, lengths, T, masked):
    x, params, pad, _ = mhsa_inputs(d_model, n_heads, lengths, T, 0)
    pad = pad if masked else None
    for order, split, merge, scale, mask in itertools.product(
            itertools.permutations(range(3)), ("ok", "flat", "interleaved"), ("ok", "flat"),
            ("head", "model"), ("ok", "ignored", "inverted") if masked else ("ok",)):
        if (order, split, merge, scale, mask) == ((0, 1, 2), "ok", "ok", "head", "ok"):
            continue
        candidate = _manual_mha(x, params, n_heads, pad, order, split, merge, scale, mask).float()
        if not close(out, candidate):
            continue
        parts = []
        if order != (0, 1, 2):
            parts.append("q, k and v are taken from the wrong thirds of qkv(x): the first d_model features "
                         "are q, the next k, the last v (qkv(x).chunk(3, dim=-1))")
        if split != "ok" or merge != "ok":
            parts.append("the heads are split or merged in the wrong order: split with "
                         "view(B, T, n_heads, d_head).transpose(1, 2), merge with "
                         "transpose(1, 2).reshape(B, T, d_model)")
        if scale != "head":
            parts.append("the scores are scaled by sqrt(d_model): scale by sqrt(d_head) = sqrt(d_model // n_heads)")
        if mask == "ignored":
            parts.append("pad_mask is ignored: padded keys must get weight 0")
        if mask == "inverted":
            parts.append("pad_mask is used with the polarity inverted: True marks PADDED keys (not allowed)")
        return "; ".join(parts)
    return ""


def _mhsa_out(student, d_model, n_heads, lengths, T, masked, grad=False):
    got = student.run("mhsa_call", d_model=d_model, n_heads=n_heads, lengths=lengths, T=T, masked=masked,
                      grad=grad)
    expect(not got.structure, got.structure)
    out = tensor_of(got.out, "MultiHeadSelfAttention's output", shape=[len(lengths), T, d_model])
    return got, out


def _expect_mha(student, masked):
    for d_model, n_heads, lengths, T in CONFIGS:
        _, out = _mhsa_out(student, d_model, n_heads, lengths, T, masked)
        want, _ = _torch_mha(d_model, n_heads, lengths, T, masked)
        if close(out, want.float()):
            continue
        where = f" (d_model={d_model}, n_heads={n_heads}{', with pad_mask' if masked else ''})"
        expect(not out.isnan().any(), "the output contains NaN" + where)
        diagnosis = _diagnose_mha(out, d_model, n_heads, lengths, T, masked)
        if diagnosis:
            raise Mistake(diagnosis + where)
        expect_close(out, want.float(), "the output differs from nn.MultiheadAttention with the same weights" + where)


@check("values", points=2)
def test_mhsa_values(student):
    """Without a mask, the output equals nn.MultiheadAttention(d_model, n_heads, batch_first=True) with the same weights"""
    _expect_mha(student, masked=False)


@check("values", points=2)
def test_mhsa_pad_mask(student):
    """With pad_mask, the output equals nn.MultiheadAttention given key_padding_mask=pad_mask"""
    _expect_mha(student, masked=True)


@check("values")
def test_mhsa_fully_padded(student):
    """A sequence that is all padding gives a finite output (out.bias) and leaves the others unchanged"""
    d_model, n_heads, lengths, T = 8, 2, [4, 0, 3], 4
    _, out = _mhsa_out(student, d_model, n_heads, lengths, T, masked=True)
    expect(not out.isnan().any(), "a sequence whose tokens are all padding gives NaN: with every key "
           "masked the attention must give zero weights (then the output is just out.bias)")
    x, params, pad, _ = mhsa_inputs(d_model, n_heads, lengths, T, 0)
    want = _manual_mha(x, params, n_heads, pad).float()
    expect_close(out[1], want[1], "a sequence that is all padding should give out.bias at every position "
                 "(zero attention weights, so zero attention output)")
    expect_close(out[[0, 2]], want[[0, 2]], "the sequences next to an all-padding one are wrong")


@check("gradients", points=2)
def test_mhsa_gradients(student):
    """Gradients w.r.t. x and the qkv/out parameters equal nn.MultiheadAttention's (with pad_mask)"""
    for d_model, n_heads, lengths, T in CONFIGS:
        got, _ = _mhsa_out(student, d_model, n_heads, lengths, T, masked=True, grad=True)
        _, want = _torch_mha(d_model, n_heads, lengths, T, masked=True)
        for name, w in want.items():
            g = got.grads[name]
            expect(g is not None, f"no gradient reached {name} (is something detached?)")
            expect(torch.isfinite(g).all(), f"the gradient w.r.t. {name} has NaN or inf")
            expect_close(g, w.float(), f"the gradient w.r.t. {name} differs from nn.MultiheadAttention's "
                         f"(d_model={d_model}, n_heads={n_heads})")


DEVICE_RUNS = {"sdpa": "scaled_dot_product_attention without a mask",
               "sdpa_mask": "scaled_dot_product_attention with a mask (some rows fully masked)",
               "mhsa": "MultiHeadSelfAttention moved to the device, without pad_mask (forward and backward)",
               "mhsa_pad": "MultiHeadSelfAttention moved to the device, with a pad_mask (forward and backward)"}


@check("device")
def test_device(student):
    """Attention runs on the device of its inputs (meta, and cuda when present), making no tensor elsewhere"""
    made = ("a tensor made on the default device (cpu) inside it met them, e.g. a default mask from "
            "torch.zeros(B, T, dtype=torch.bool) or zeros for fully masked rows; create it where the inputs are "
            "(device=x.device, torch.zeros_like, or masked_fill with a number)")
    expect_device_runs(student, DEVICE_RUNS, made)
