"""exercise08_masks: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

PAD_RETURN = "    return positions[None, :] >= lengths[:, None]"
CAUSAL = "    return torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)"
ENCODE = "        h = self.encoder(self.embedding(tokens), src_key_padding_mask=pad)"
CLASSIFIER_CHECKS = ("classifier_padding_invariance", "classifier_eval_padding_invariance",
                     "classifier_pad_content_ignored")

MISTAKES = {
    "padding_mask_inverted": (
        [(PAD_RETURN, "    return positions[None, :] < lengths[:, None]")],
        {"padding_mask_values": "polarity inverted", "padding_mask_max_len": "is wrong"}),
    "padding_mask_off_by_one": (
        [(PAD_RETURN, "    return positions[None, :] > lengths[:, None]")],
        {"padding_mask_values": "off by one", "padding_mask_max_len": "is wrong"}),
    "padding_mask_ignores_max_len": (
        [("    T = int(lengths.max()) if max_len is None else int(max_len)", "    T = int(lengths.max())")],
        {"padding_mask_max_len": "ignored max_len"}),
    "padding_mask_long": (
        [(PAD_RETURN, "    return (positions[None, :] >= lengths[:, None]).long()")],
        {"mask_dtypes": "padding_mask returns a torch.int64"}),
    "max_len_without_default": (
        [("def padding_mask(lengths, max_len=None):", "def padding_mask(lengths, max_len):")],
        {"api": "does not match", "mask_dtypes": "missing 1 required", "padding_mask_values": "missing 1 required"}),
    "causal_mask_allowed_polarity": (
        [(CAUSAL, "    return torch.tril(torch.ones(T, T, dtype=torch.bool))")],
        {"causal_mask_values": "polarity inverted"}),
    "causal_mask_masks_diagonal": (
        [(CAUSAL, "    return torch.ones(T, T, dtype=torch.bool).triu(diagonal=0)")],
        {"causal_mask_values": "masks the diagonal"}),
    "causal_mask_allows_next": (
        [(CAUSAL, "    return torch.ones(T, T, dtype=torch.bool).triu(diagonal=2)")],
        {"causal_mask_values": "off by one"}),
    "causal_mask_transposed": (
        [(CAUSAL, "    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)")],
        {"causal_mask_values": "transposed"}),
    "causal_mask_float": (
        [(CAUSAL, "    return torch.ones(T, T).triu(diagonal=1)")],
        {"mask_dtypes": "causal_mask returns a torch.float32"}),
    "masked_mean_divides_by_T": (
        [("    count = keep.sum(dim=1).clamp(min=1).to(x.dtype)", "    count = x.shape[1]")],
        {"masked_mean_values": "divides by T", "masked_mean_gradients": "1/T",
         "classifier_padding_invariance": "pooling", "classifier_eval_padding_invariance": "pooling"}),
    "masked_mean_keeps_padding": (
        [("    keep = (~pad_mask).unsqueeze(-1)", "    keep = pad_mask.unsqueeze(-1)")],
        {"masked_mean_values": "averages the PADDED", "masked_mean_gradients": "is wrong",
         **{c: "" for c in CLASSIFIER_CHECKS}}),
    "masked_mean_in_place": (
        [("    total = x.masked_fill(~keep, 0.0).sum(dim=1)", "    total = x.masked_fill_(~keep, 0.0).sum(dim=1)")],
        {"masked_mean_values": "in place", "masked_mean_gradients": "in-place"}),
    "no_key_padding_mask": (
        [(ENCODE, "        h = self.encoder(self.embedding(tokens))")],
        {c: "without src_key_padding_mask" for c in CLASSIFIER_CHECKS}),
    "inverted_key_padding_mask": (
        [(ENCODE, "        h = self.encoder(self.embedding(tokens), src_key_padding_mask=~pad)")],
        {**{c: "inverted" for c in CLASSIFIER_CHECKS}, "classifier_learns": ""}),
    "plain_mean_pooling": (
        [("        return self.head(masked_mean(h, pad))", "        return self.head(h.mean(dim=1))")],
        {c: "pooling uses padded positions" for c in CLASSIFIER_CHECKS}),
    "pad_idx_hard_coded": (
        [("        pad = tokens == self.pad_idx", "        pad = tokens == 0")],
        {c: "hard-coded" for c in CLASSIFIER_CHECKS}),
    "embedding_without_padding_idx": (
        [("nn.Embedding(vocab_size, d_model, padding_idx=pad_idx)", "nn.Embedding(vocab_size, d_model)")],
        {"classifier_embedding_padding_idx": "padding_idx=None"}),
    "default_dropout": (
        [("                                                  dropout=0.0, batch_first=True)",
          "                                                  batch_first=True)")],
        {"classifier_dropout_off": "dropout=0.0", "classifier_padding_invariance": "dropout=0.0",
         "classifier_pad_content_ignored": "dropout=0.0"}),
    "embedding_detached": (
        [(ENCODE, "        h = self.encoder(self.embedding(tokens).detach(), src_key_padding_mask=pad)")],
        {"classifier_gradients": "no gradient reaches the token embedding"}),
    "returns_probabilities": (
        [("        return self.head(masked_mean(h, pad))", "        return self.head(masked_mean(h, pad)).softmax(-1)")],
        {"classifier_learns": "fell only"}),
}

ALTERNATIVES = {
    "loops_and_comparisons": '''
def padding_mask(lengths, max_len=None):
    lengths = [int(n) for n in lengths]
    T = max(lengths) if max_len is None else max_len
    mask = torch.zeros(len(lengths), T, dtype=torch.bool)
    for i, n in enumerate(lengths):
        mask[i, n:] = True
    return mask


def causal_mask(T):
    idx = torch.arange(T)
    return idx.unsqueeze(0) > idx.unsqueeze(1)


def masked_mean(x, pad_mask):
    keep = (~pad_mask).to(x.dtype)
    return torch.einsum("btd,bt->bd", torch.where(pad_mask.unsqueeze(-1), torch.zeros_like(x), x), keep.bool().to(x.dtype)) / keep.sum(1, keepdim=True)
''',
    "wrapped_encoder_with_positions": '''
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, d_model, n_heads, num_classes, pad_idx=0):
        super().__init__()
        self.pad_idx = pad_idx
        self.pos = nn.Embedding(64, d_model)
        self.tok = nn.Embedding(vocab_size, d_model, padding_idx=pad_idx)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=32, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=True)
        self.classify = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, num_classes))

    def forward(self, tokens):
        pad = tokens.eq(self.pad_idx)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        h = self.tok(tokens) + self.pos(positions)
        h = self.encoder(h, None, pad)
        keep = (~pad).float().unsqueeze(-1)
        return self.classify((h * keep).sum(1) / keep.sum(1))
''',
    "float_key_mask_and_masked_pooling": '''
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, d_model, n_heads, num_classes, pad_idx=0):
        super().__init__()
        self.pad_idx = pad_idx
        self.emb = nn.Embedding(vocab_size, d_model, padding_idx=pad_idx)
        self.layer = nn.TransformerEncoderLayer(d_model=d_model, nhead=n_heads, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d_model, num_classes)

    def forward(self, tokens):
        pad = tokens == self.pad_idx
        float_mask = torch.zeros(pad.shape).masked_fill(pad, float("-inf"))
        h = self.layer(self.emb(tokens), src_key_padding_mask=float_mask)
        return self.out(masked_mean(h, pad))
''',
}
