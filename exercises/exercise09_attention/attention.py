"""Exercise 09: scaled dot-product and multi-head attention.

Read README.md first; run `grade exercise09` to grade.

Convention: a boolean mask is True where a key is NOT allowed -- the same polarity as
`key_padding_mask` in nn.MultiheadAttention. (F.scaled_dot_product_attention's boolean
`attn_mask` is the opposite: True = allowed.)
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
    # TODO: scores = q @ kᵀ / sqrt(d); fill masked scores with -inf BEFORE the softmax;
    # handle rows where every key is masked (no NaN); softmax over the keys; weights @ v.
    raise NotImplementedError("TODO: scaled_dot_product_attention")


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention equal to nn.MultiheadAttention(d_model, n_heads, batch_first=True).

    Attributes: qkv = nn.Linear(d_model, 3 * d_model) (output: q, k, v in that order) and
    out = nn.Linear(d_model, d_model).
    """

    def __init__(self, d_model, n_heads):
        super().__init__()
        # TODO: store n_heads; create self.qkv and self.out.
        raise NotImplementedError("TODO: MultiHeadSelfAttention.__init__")

    def forward(self, x, pad_mask=None):
        """x (B, T, d_model), pad_mask (B, T) True at padding -> (B, T, d_model)."""
        # TODO: q, k, v from qkv(x); split each into heads (B, n_heads, T, d_head);
        # attention with the mask reshaped to (B, 1, 1, T); merge the heads; out.
        raise NotImplementedError("TODO: MultiHeadSelfAttention.forward")
