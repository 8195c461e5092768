# expect: classifier_padding_invariance, classifier_eval_padding_invariance, classifier_pad_content_ignored
# may fail: classifier_learns
# message: classifier_padding_invariance: inverted
# message: classifier_eval_padding_invariance: inverted
# message: classifier_pad_content_ignored: inverted
"""Reference solution: exercise08_masks.

Every boolean mask here is True where a position is NOT allowed (padding, or the future),
as `key_padding_mask` in nn.MultiheadAttention.
"""

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
        h = self.encoder(self.embedding(tokens), src_key_padding_mask=~pad)
        return self.head(masked_mean(h, pad))
