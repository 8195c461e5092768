"""Exercise 08: padding and attention masks.

Read README.md first; run `grade exercise08` to grade.

Convention: a boolean mask is True where a position is NOT allowed (padding, or the
future) -- the same polarity as `key_padding_mask` in nn.MultiheadAttention.
(F.scaled_dot_product_attention's boolean `attn_mask` is the opposite: True = allowed.)
"""

import torch
from torch import nn


def padding_mask(lengths, max_len=None):
    """BoolTensor (B, T), True at padded positions; T = max_len or max(lengths)."""
    # TODO: compare a row of positions 0..T-1 with the lengths (broadcasting (1, T) vs (B, 1)).
    raise NotImplementedError("TODO: padding_mask")


def causal_mask(T):
    """BoolTensor (T, T), True where key index (column) > query index (row)."""
    # TODO: torch.triu with the right diagonal (a position may attend to itself).
    raise NotImplementedError("TODO: causal_mask")


def masked_mean(x, pad_mask):
    """Mean of x (B, T, D) over the non-padded positions of each row -> (B, D).

    pad_mask (B, T) is True at padded positions.
    """
    # TODO: zero the padded positions, sum over T, divide by the number of REAL positions.
    raise NotImplementedError("TODO: masked_mean")


class SequenceClassifier(nn.Module):
    """Embedding -> one TransformerEncoderLayer (with key padding mask) -> masked mean -> linear.

    forward(tokens (B, T) long) -> logits (B, num_classes); padding is where tokens == pad_idx.
    A sequence's logits do not change when more padding is appended.
    """

    def __init__(self, vocab_size, d_model, n_heads, num_classes, pad_idx=0):
        super().__init__()
        # TODO: nn.Embedding with padding_idx, nn.TransformerEncoderLayer(batch_first=True,
        # dropout=0.0), nn.Linear head; remember pad_idx.
        raise NotImplementedError("TODO: SequenceClassifier.__init__")

    def forward(self, tokens):
        # TODO: pad = tokens == pad_idx; embed; encode with src_key_padding_mask=pad;
        # masked_mean over the real positions; head.
        raise NotImplementedError("TODO: SequenceClassifier.forward")
