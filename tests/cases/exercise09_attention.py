"""exercise09_attention: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

SCORES = "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))"
FILL = '        scores = scores.masked_fill(mask, float("-inf"))\n'
ALL_MASKED = ("        # a row with every key masked would be all -inf and softmax would give NaN\n"
              "        scores = scores.masked_fill(mask.all(dim=-1, keepdim=True), 0.0)\n")
ZERO_AFTER = "    if mask is not None:\n        weights = weights.masked_fill(mask, 0.0)\n"
CALL = "        out, _ = scaled_dot_product_attention(split(q), split(k), split(v), mask)"
SDPA = ("sdpa_values", "sdpa_mask", "sdpa_mask_broadcasting", "sdpa_fully_masked", "sdpa_gradients")
MHSA = ("mhsa_values", "mhsa_pad_mask", "mhsa_fully_padded", "mhsa_gradients")
MASKED_MHSA = ("mhsa_pad_mask", "mhsa_fully_padded", "mhsa_gradients")

MISTAKES = {
    "no_scale": (
        [(SCORES, "    scores = q @ k.transpose(-2, -1)")],
        {"sdpa_values": "not scaled", "sdpa_mask": "not scaled", "sdpa_mask_broadcasting": "not scaled",
         "sdpa_fully_masked": "not scaled", "sdpa_gradients": "is wrong", **{c: "" for c in MHSA}}),
    "scale_with_dv": (
        [(SCORES, "    scores = q @ k.transpose(-2, -1) / math.sqrt(v.size(-1))")],
        {"sdpa_values": "v's last dimension", "sdpa_mask": "v's last dimension",
         "sdpa_mask_broadcasting": "v's last dimension", "sdpa_fully_masked": "v's last dimension",
         "sdpa_gradients": "is wrong"}),
    "softmax_over_queries": (
        [("    weights = torch.softmax(scores, dim=-1)", "    weights = torch.softmax(scores, dim=-2)")],
        {"sdpa_values": "wrong dim", "sdpa_mask": "", "sdpa_mask_broadcasting": "", "sdpa_fully_masked": "",
         "sdpa_gradients": "", **{c: "" for c in MHSA}}),
    "mask_after_softmax": (
        [(FILL + ALL_MASKED, "        pass\n")],
        {"sdpa_mask": "after the softmax", "sdpa_mask_broadcasting": "after the softmax",
         "sdpa_fully_masked": "", "sdpa_gradients": "", **{c: "" for c in MASKED_MHSA}}),
    "mask_inverted": (
        [(FILL, "        mask = ~mask\n" + FILL)],
        {"sdpa_mask": "polarity is inverted", "sdpa_mask_broadcasting": "polarity is inverted",
         "sdpa_fully_masked": "", "sdpa_gradients": "", "mhsa_pad_mask": "polarity inverted",
         "mhsa_fully_padded": "", "mhsa_gradients": ""}),
    "nan_for_fully_masked_rows": (
        [(ALL_MASKED, ""), (ZERO_AFTER, "")],
        {"sdpa_fully_masked": "NaN", "sdpa_gradients": "", "mhsa_fully_padded": "NaN"}),
    "large_negative_fill": (
        [(FILL, "        scores = scores.masked_fill(mask, -1e9)\n"), (ALL_MASKED, ""), (ZERO_AFTER, "")],
        {"sdpa_fully_masked": "uniform", "sdpa_gradients": "", "mhsa_fully_padded": "out.bias"}),
    "boolean_indexing_mask": (
        [(FILL, '        scores[mask] = float("-inf")\n')],
        {"sdpa_mask_broadcasting": "raised", **{c: "raised" for c in MASKED_MHSA}}),
    "scale_q_in_place": (
        [(SCORES, "    q /= math.sqrt(q.size(-1))\n    scores = q @ k.transpose(-2, -1)")],
        {"sdpa_values": "in place", "sdpa_mask": "in place", "sdpa_mask_broadcasting": "in place",
         "sdpa_fully_masked": "in place", "sdpa_gradients": "raised", "api": "", **{c: "raised" for c in MHSA}}),
    "q_k_swapped": (
        [("        q, k, v = self.qkv(x).chunk(3, dim=-1)", "        k, q, v = self.qkv(x).chunk(3, dim=-1)")],
        {"mhsa_values": "wrong thirds", "mhsa_pad_mask": "wrong thirds", "mhsa_fully_padded": "next to",
         "mhsa_gradients": "differs"}),
    "heads_split_without_transpose": (
        [("            return t.view(B, T, H, D // H).transpose(1, 2)", "            return t.reshape(B, H, T, D // H)")],
        {"mhsa_values": "split or merged", "mhsa_pad_mask": "split or merged", "mhsa_fully_padded": "",
         "mhsa_gradients": "differs"}),
    "heads_merged_without_transpose": (
        [("        return self.out(out.transpose(1, 2).reshape(B, T, D))", "        return self.out(out.reshape(B, T, D))")],
        {"mhsa_values": "split or merged", "mhsa_pad_mask": "split or merged", "mhsa_fully_padded": "",
         "mhsa_gradients": "differs"}),
    "pad_mask_ignored": (
        [(CALL, "        out, _ = scaled_dot_product_attention(split(q), split(k), split(v))")],
        {"mhsa_pad_mask": "ignored", "mhsa_fully_padded": "", "mhsa_gradients": "differs"}),
    "pad_mask_on_queries": (
        [("pad_mask[:, None, None, :]", "pad_mask[:, None, :, None]")],
        {"mhsa_pad_mask": "differs", "mhsa_fully_padded": "", "mhsa_gradients": "differs"}),
    "renamed_projection": (
        [("        self.qkv = nn.Linear(d_model, 3 * d_model)", "        self.in_proj = nn.Linear(d_model, 3 * d_model)"),
         ("self.qkv(x)", "self.in_proj(x)")],
        {"api": "attribute `qkv`", **{c: "attribute `qkv`" for c in MHSA}}),
}

ALTERNATIVES = {
    "einsum_where_finfo": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = torch.where(mask, torch.finfo(scores.dtype).min, scores)
    weights = scores.softmax(-1)
    if mask is not None:
        weights = torch.where(mask, 0.0, weights)
    return torch.einsum("...qk,...kv->...qv", weights, v), weights
''',
    "loop_over_heads": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.h = n_heads
        self.out = nn.Linear(d_model, d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)

    def forward(self, x, pad_mask=None):
        D = x.shape[-1]
        dh = D // self.h
        q, k, v = self.qkv(x).split(D, dim=-1)
        mask = None if pad_mask is None else pad_mask.unsqueeze(1)
        heads = []
        for i in range(self.h):
            s = slice(i * dh, (i + 1) * dh)
            o, _ = scaled_dot_product_attention(q[..., s], k[..., s], v[..., s], mask)
            heads.append(o)
        return self.out(torch.cat(heads, dim=-1))
''',
    "torch_sdpa_with_inverted_mask": '''
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x, pad_mask=None):
        B, T, D = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        allowed = None if pad_mask is None else ~pad_mask[:, None, None, :]
        o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=allowed)
        return self.out(o.permute(0, 2, 1, 3).reshape(B, T, D))
''',
}
