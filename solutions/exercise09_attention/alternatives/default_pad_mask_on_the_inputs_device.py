"""A correct alternative: without a pad_mask, an all-False one made on x's device.

A boolean mask is True where a key is NOT allowed (as `key_padding_mask` in
nn.MultiheadAttention; F.scaled_dot_product_attention's boolean attn_mask is the opposite).
"""

import math

import torch
from torch import nn


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q kᵀ / sqrt(d)) v over the last dim, masked keys (mask True) getting weight 0.

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv); mask broadcastable to (..., Tq, Tk).
    Returns (out (..., Tq, dv), weights (..., Tq, Tk)). A query whose keys are all masked
    gets zero weights and a zero output.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
        # a row with every key masked would be all -inf and softmax would give NaN
        scores = scores.masked_fill(mask.all(dim=-1, keepdim=True), 0.0)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(mask, 0.0)
    return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention equal to nn.MultiheadAttention(d_model, n_heads, batch_first=True)."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        if d_model % n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x, pad_mask=None):
        B, T, D = x.shape
        H = self.n_heads

        def split(t):  # (B, T, D) -> (B, H, T, D // H)
            return t.view(B, T, H, D // H).transpose(1, 2)

        if pad_mask is None:  # no padding: nothing masked
            pad_mask = torch.zeros(B, T, dtype=torch.bool, device=x.device)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        mask = pad_mask[:, None, None, :]  # (B, 1, 1, T)
        out, _ = scaled_dot_product_attention(split(q), split(k), split(v), mask)
        return self.out(out.transpose(1, 2).reshape(B, T, D))
