"""Probes for exercise08 (run in the worker on the submission; return plain data)."""

import torch
from torch import nn

from grader.suites.worker_side import describe, run_on, warm_meta_values
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)

VOCAB, D_MODEL, N_HEADS, CLASSES = 11, 8, 2, 3
# float32 softmax rows sum to 1 within this (rtol is torch.allclose's default; probes do not import checks)
SUMS_TO_ONE = {"rtol": 1e-5, "atol": 1e-4}


def warm():
    """Called once in the zygote."""
    warm_meta_values()


def padding_mask_call(mod, lengths, max_len=None):
    lengths = torch.tensor(lengths, dtype=torch.long)
    before = lengths.clone()
    if max_len is None:
        result = mod.padding_mask(lengths)
    else:
        result = mod.padding_mask(lengths, max_len=max_len)
    return {"mask": describe(result), "lengths_kept": torch.equal(lengths, before)}


def causal_mask_call(mod, T):
    return {"mask": describe(mod.causal_mask(T))}


def _masked_mean_inputs():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 5, 4, generator=g)
    lengths = torch.tensor([5, 2, 3])
    pad = torch.arange(5)[None, :] >= lengths[:, None]
    # padded positions hold large values, so using them is obvious
    x = torch.where(pad[..., None], 50.0 + 10 * torch.randn(3, 5, 4, generator=g), x)
    return x, pad, g


def masked_mean_call(mod, grad=False):
    x, pad, g = _masked_mean_inputs()
    x_before, pad_before = x.clone(), pad.clone()
    if grad:
        x.requires_grad_(True)
    out = mod.masked_mean(x, pad)
    info = {"x": x_before, "pad": pad_before, "out": describe(out),
            "x_kept": torch.equal(x.detach(), x_before), "pad_kept": torch.equal(pad, pad_before)}
    if grad:
        upstream = torch.randn(3, 4, generator=g)
        (out * upstream).sum().backward()
        info["upstream"] = upstream
        info["x_grad"] = None if x.grad is None else x.grad.clone()
    return info


# ----------------------------------------------------------------- SequenceClassifier


def _tokens(pad_idx, lengths, T, seed):
    g = torch.Generator().manual_seed(seed)
    real = torch.tensor([v for v in range(VOCAB) if v != pad_idx])
    tokens = real[torch.randint(len(real), (len(lengths), T), generator=g)]
    for i, n in enumerate(lengths):
        tokens[i, n:] = pad_idx
    return tokens


def _token_embeddings(model, tokens):
    """The nn.Embedding modules that are called with the tokens themselves."""
    found = []

    def hook(module, args, _out):
        if args and isinstance(args[0], torch.Tensor) and args[0].shape == tokens.shape \
                and torch.equal(args[0], tokens) and module not in found:
            found.append(module)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Embedding)]
    try:
        with torch.no_grad():
            model(tokens)
    finally:
        for h in handles:
            h.remove()
    return found


def _logits(model, tokens, train, noise_at_pad=None):
    """Logits in train mode (grad on) or eval mode (under no_grad, the fast path)."""
    model.train(train)
    handles = []
    if noise_at_pad is not None:
        embeddings, pad_idx, seed = noise_at_pad
        g = torch.Generator().manual_seed(seed)

        def hook(_module, args, out):
            if not (isinstance(out, torch.Tensor) and out.dim() == 3):
                return out
            noise = 3 * torch.randn(out.shape, generator=g, dtype=out.dtype).to(out.device)
            return torch.where((args[0] == pad_idx)[..., None], noise, out)

        handles = [m.register_forward_hook(hook) for m in embeddings]
    try:
        if train:
            out = model(tokens)
        else:
            with torch.no_grad():
                out = model(tokens)
    finally:
        for h in handles:
            h.remove()
    return out


def _spy_key_padding_mask(model, tokens):
    """What the TransformerEncoderLayer(s) received as src_key_padding_mask (train mode)."""
    layers = [m for m in model.modules() if isinstance(m, nn.TransformerEncoderLayer)]
    seen = []

    def hook(_module, args, kwargs):
        mask = kwargs.get("src_key_padding_mask", args[2] if len(args) > 2 else None)
        if mask is None:
            seen.append(None)
        elif isinstance(mask, torch.Tensor):
            blocked = mask if mask.dtype == torch.bool else mask < -1e4
            seen.append(blocked.detach().to("cpu").clone())
        else:
            seen.append("not a tensor")

    handles = [m.register_forward_pre_hook(hook, with_kwargs=True) for m in layers]
    try:
        model.train()
        model(tokens)
    finally:
        for h in handles:
            h.remove()
    return {"n_layers": len(layers), "masks": seen}


def classifier_behaviour(mod, pad_idx):
    torch.manual_seed(0)
    lengths = [5, 2, 4]
    tokens = _tokens(pad_idx, lengths, 5, seed=pad_idx + 1)
    longer = torch.cat([tokens, torch.full((3, 3), pad_idx)], dim=1)
    model = mod.SequenceClassifier(VOCAB, D_MODEL, N_HEADS, CLASSES, pad_idx=pad_idx)
    emb = _token_embeddings(model, tokens)
    info = {"tokens": tokens, "n_token_embeddings": len(emb),
            "padding_idx": [m.padding_idx for m in emb],
            "pad_row_zero": [bool((m.weight[pad_idx] == 0).all()) for m in emb
                             if 0 <= pad_idx < m.num_embeddings]}
    # Any weights must give padding-invariant logits: move every parameter off its
    # initial value (nonzero biases, a nonzero pad row) so masking mistakes show.
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device))
    for name, train in (("train", True), ("eval", False)):
        first = _logits(model, tokens, train)
        info[name] = {
            "logits": describe(first),
            "again": describe(_logits(model, tokens, train)),
            "longer": describe(_logits(model, longer, train)),
            "alone": [describe(_logits(model, tokens[i:i + 1, :n], train)) for i, n in enumerate(lengths)],
            "noisy_pad": describe(_logits(model, longer, train, (emb, pad_idx, 7))) if emb else None,
        }
    info["spy"] = _spy_key_padding_mask(model, tokens)
    return info


def classifier_gradients(mod):
    torch.manual_seed(0)
    model = mod.SequenceClassifier(VOCAB, D_MODEL, N_HEADS, CLASSES, pad_idx=0)
    tokens = _tokens(0, [6, 3, 5, 1], 6, seed=3)
    labels = torch.tensor([0, 2, 1, 2])
    emb = _token_embeddings(model, tokens)
    model.train()
    loss = nn.functional.cross_entropy(model(tokens), labels)
    loss.backward()
    heads = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == CLASSES]
    used = sorted(set(tokens[tokens != 0].tolist()))
    return {
        "loss_has_graph": loss.grad_fn is not None,
        "n_token_embeddings": len(emb),
        "embedding_grad_used": [None if m.weight.grad is None else float(m.weight.grad[used].abs().sum())
                                for m in emb],
        "n_heads": len(heads),
        "head_grad": [sum(0.0 if p.grad is None else float(p.grad.abs().sum()) for p in m.parameters())
                      for m in heads],
        "nonfinite": [n for n, p in model.named_parameters()
                      if p.grad is not None and not torch.isfinite(p.grad).all()],
    }


def _task(n, seed):
    """Label 1 when most of a sequence's tokens are 'high' (6..10), else 0; odd lengths."""
    g = torch.Generator().manual_seed(seed)
    lengths = (2 * torch.randint(1, 4, (n,), generator=g) + 1).tolist()
    tokens = torch.randint(1, VOCAB, (n, max(lengths)), generator=g)
    for i, k in enumerate(lengths):
        tokens[i, k:] = 0
    high = ((tokens >= 6) & (tokens != 0)).sum(1)
    labels = (2 * high > torch.tensor(lengths)).long()
    return tokens, labels


def classifier_training(mod, steps=20):
    torch.manual_seed(0)
    model = mod.SequenceClassifier(VOCAB, 16, N_HEADS, 2, pad_idx=0)
    tokens, labels = _task(32, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(tokens), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(tokens)
        acc = float((out.argmax(1) == labels).float().mean())
    probabilities = bool((out >= 0).all() and torch.allclose(out.sum(1), torch.ones(len(out)), **SUMS_TO_ONE))
    return {"losses": losses, "accuracy": acc, "probabilities": probabilities}


def device_runs(mod, device):
    """The classifier moved to `device` (train mode with a backward pass, then eval mode under no_grad)
    and masked_mean, on inputs there; an error is data (on meta, values read are ones)."""
    torch.manual_seed(0)
    runs = {}
    tokens = _tokens(0, [5, 2, 4], 5, seed=1).to(device)
    model = mod.SequenceClassifier(VOCAB, D_MODEL, N_HEADS, CLASSES, pad_idx=0).to(device)

    def train():
        model.train()
        out = model(tokens)
        out.float().sum().backward()
        return out

    def evaluate():
        model.eval()
        with torch.no_grad():
            return model(tokens)

    x, pad, _ = _masked_mean_inputs()
    for name, fn in (("train", train), ("eval", evaluate),
                     ("masked_mean", lambda: mod.masked_mean(x.to(device), pad.to(device)))):
        runs[name] = run_on(fn, device)
    return runs
