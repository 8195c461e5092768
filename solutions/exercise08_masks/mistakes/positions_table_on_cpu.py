# expect: device
# message: device: torch.arange
"""A mistake: the classifier adds a sinusoidal position table built with torch.arange on the default device (cpu).

Every boolean mask here is True where a position is NOT allowed (padding, or the future),
as `key_padding_mask` in nn.MultiheadAttention.
"""

import math

import torch
from torch import nn


def padding_mask(lengths, max_len=None):
    """BoolTensor (B, T), True at padded positions; T = max_len or max(lengths)."""
    lengths = torch.as_tensor(lengths)
    T = int(lengths.max()) if max_len is None else int(max_len)
    positions = torch.arange(T, device=lengths.device)
    return positions[None, :] >= lengths[:, None]


def causal_mask(T):
    """BoolTensor (T, T), True where key index (column) > query index (row)."""
    return torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)


def masked_mean(x, pad_mask):
    """Mean of x (B, T, D) over the non-padded positions of each row -> (B, D)."""
    keep = (~pad_mask).unsqueeze(-1)
    total = x.masked_fill(~keep, 0.0).sum(dim=1)
    count = keep.sum(dim=1).clamp(min=1).to(x.dtype)
    return total / count


class SequenceClassifier(nn.Module):
    """Embedding -> one TransformerEncoderLayer (with key padding mask) -> masked mean -> linear."""

    def __init__(self, vocab_size, d_model, n_heads, num_classes, pad_idx=0):
        super().__init__()
        self.pad_idx = pad_idx
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_idx)
        self.encoder = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=4 * d_model,
                                                  dropout=0.0, batch_first=True)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, tokens):
        pad = tokens == self.pad_idx
        h = self.embedding(tokens) + self.positions(tokens.shape[1])
        h = self.encoder(h, src_key_padding_mask=pad)
        return self.head(masked_mean(h, pad))

    def positions(self, T):
        """The sinusoidal position table (T, d_model) of "Attention is all you need"."""
        d = self.embedding.embedding_dim
        pos = torch.arange(T, dtype=torch.float32).unsqueeze(1)
        freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
        table = torch.zeros(T, d)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq)
        return table
