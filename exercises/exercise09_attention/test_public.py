"""Public checks for exercise09. Run: pytest exercises/exercise09_attention  (then: grade exercise09)"""

import math

import torch
from torch import nn

from attention import MultiHeadSelfAttention, scaled_dot_product_attention


def test_attention_weights_are_a_scaled_softmax():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    out, weights = scaled_dot_product_attention(q, k, v)
    want = torch.softmax(q @ k.T / math.sqrt(4), dim=-1)
    torch.testing.assert_close(weights, want)
    torch.testing.assert_close(out, want @ v)


def test_masked_keys_get_zero_weight():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3), torch.randn(4, 3), torch.randn(4, 3)
    mask = torch.tensor([False, True, False, True])  # True = not allowed
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert (weights[:, mask] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))


def test_matches_torch_multihead_attention():
    torch.manual_seed(0)
    mine = MultiHeadSelfAttention(8, 2)
    ref = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(mine.qkv.weight)
        ref.in_proj_bias.copy_(mine.qkv.bias)
        ref.out_proj.weight.copy_(mine.out.weight)
        ref.out_proj.bias.copy_(mine.out.bias)
    x = torch.randn(2, 5, 8)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    want, _ = ref(x, x, x, key_padding_mask=pad)
    torch.testing.assert_close(mine(x, pad), want, atol=1e-5, rtol=1e-4)
