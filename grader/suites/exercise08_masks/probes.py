"""Probes for exercise08 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from grader.suites.worker_side import Described, DeviceRun, describe, run_on, warm_meta_values
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)

VOCAB, D_MODEL, N_HEADS, CLASSES = 11, 8, 2, 3
# float32 softmax rows sum to 1 within this (rtol is torch.allclose's default; probes do not import checks)
SUMS_TO_ONE = {"rtol": 1e-5, "atol": 1e-4}


# ---- what the probes return ----

@dataclass
class PaddingMaskCall:
    mask: Described
    lengths_kept: bool  # the lengths tensor was left unchanged


@dataclass
class CausalMaskCall:
    mask: Described


@dataclass
class MaskedMeanCall:
    """masked_mean on x (3, 5, 4) whose padded positions hold large values."""
    x: Tensor  # the inputs, as given
    pad: Tensor
    out: Described
    x_kept: bool  # x and pad were left unchanged
    pad_kept: bool
    upstream: Tensor | None = None  # with grad=True: the upstream gradient of the output
    x_grad: Tensor | None = None  # with grad=True: x.grad after backward


@dataclass
class ModeLogits:
    """The classifier's logits in one mode (train, or eval under no_grad)."""
    logits: Described
    again: Described  # the same call a second time
    longer: Described  # the batch with three more padding columns
    alone: list[Described]  # each sequence alone, without padding
    noisy_pad: Described | None  # `longer` with noise for the pad embeddings; None without a token embedding


@dataclass
class KeyPaddingSpy:
    """What the nn.TransformerEncoderLayer(s) received as src_key_padding_mask (train mode)."""
    n_layers: int
    masks: list[Tensor | str | None]  # per call: the blocked positions (bool), None, or "not a tensor"


@dataclass
class ClassifierBehaviour:
    pad_idx: int  # the pad_idx the classifier was built with
    tokens: Tensor
    n_token_embeddings: int  # nn.Embedding modules called with the tokens themselves
    padding_idx: list[int | None]  # theirs
    pad_row_zero: list[bool]  # whether their pad_idx row is zero at initialisation
    train: ModeLogits
    eval: ModeLogits
    spy: KeyPaddingSpy


@dataclass
class ClassifierGradients:
    loss_has_graph: bool
    n_token_embeddings: int
    embedding_grad_used: list[float | None]  # per token embedding: |grad| summed over the used tokens' rows
    n_heads: int  # nn.Linear modules with out_features = num_classes
    head_grad: list[float]  # per head: |grad| summed over its parameters
    nonfinite: list[str]  # parameters with non-finite gradients


@dataclass
class ClassifierTraining:
    losses: list[float]  # per Adam step
    accuracy: float
    probabilities: bool  # the eval outputs look like probabilities (non-negative rows summing to 1)


def warm():
    """Called once in the zygote."""
    warm_meta_values()


def padding_mask_call(mod, lengths, max_len=None) -> PaddingMaskCall:
    lengths = torch.tensor(lengths, dtype=torch.long)
    before = lengths.clone()
    if max_len is None:
        result = mod.padding_mask(lengths)
    else:
        result = mod.padding_mask(lengths, max_len=max_len)
    return PaddingMaskCall(mask=describe(result), lengths_kept=torch.equal(lengths, before))


def causal_mask_call(mod, T) -> CausalMaskCall:
    return CausalMaskCall(mask=describe(mod.causal_mask(T)))


def _masked_mean_inputs():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 5, 4, generator=g)
    lengths = torch.tensor([5, 2, 3])
    pad = torch.arange(5)[None, :] >= lengths[:, None]
    # padded positions hold large values, so using them is obvious
    x = torch.where(pad[..., None], 50.0 + 10 * torch.randn(3, 5, 4, generator=g), x)
    return x, pad, g


def masked_mean_call(mod, grad=False) -> MaskedMeanCall:
    x, pad, g = _masked_mean_inputs()
    x_before, pad_before = x.clone(), pad.clone()
    if grad:
        x.requires_grad_(True)
    out = mod.masked_mean(x, pad)
    info = MaskedMeanCall(x=x_before, pad=pad_before, out=describe(out),
                          x_kept=torch.equal(x.detach(), x_before), pad_kept=torch.equal(pad, pad_before))
    if grad:
        upstream = torch.randn(3, 4, generator=g)
        (out * upstream).sum().backward()
        info.upstream = upstream
        info.x_grad = None if x.grad is None else x.grad.clone()
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


def _spy_key_padding_mask(model, tokens) -> KeyPaddingSpy:
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
    return KeyPaddingSpy(n_layers=len(layers), masks=seen)


def classifier_behaviour(mod, pad_idx) -> ClassifierBehaviour:
    torch.manual_seed(0)
    lengths = [5, 2, 4]
    tokens = _tokens(pad_idx, lengths, 5, seed=pad_idx + 1)
    longer = torch.cat([tokens, torch.full((3, 3), pad_idx)], dim=1)
    model = mod.SequenceClassifier(VOCAB, D_MODEL, N_HEADS, CLASSES, pad_idx=pad_idx)
    emb = _token_embeddings(model, tokens)
    padding_idx = [m.padding_idx for m in emb]
    pad_row_zero = [bool((m.weight[pad_idx] == 0).all()) for m in emb if 0 <= pad_idx < m.num_embeddings]
    # Any weights must give padding-invariant logits: move every parameter off its
    # initial value (nonzero biases, a nonzero pad row) so masking mistakes show.
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device))
    modes = {}
    for name, train in (("train", True), ("eval", False)):
        first = _logits(model, tokens, train)
        modes[name] = ModeLogits(
            logits=describe(first),
            again=describe(_logits(model, tokens, train)),
            longer=describe(_logits(model, longer, train)),
            alone=[describe(_logits(model, tokens[i:i + 1, :n], train)) for i, n in enumerate(lengths)],
            noisy_pad=describe(_logits(model, longer, train, (emb, pad_idx, 7))) if emb else None,
        )
    return ClassifierBehaviour(pad_idx=pad_idx, tokens=tokens, n_token_embeddings=len(emb),
                               padding_idx=padding_idx, pad_row_zero=pad_row_zero,
                               train=modes["train"], eval=modes["eval"],
                               spy=_spy_key_padding_mask(model, tokens))


def classifier_gradients(mod) -> ClassifierGradients:
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
    return ClassifierGradients(
        loss_has_graph=loss.grad_fn is not None,
        n_token_embeddings=len(emb),
        embedding_grad_used=[None if m.weight.grad is None else float(m.weight.grad[used].abs().sum())
                             for m in emb],
        n_heads=len(heads),
        head_grad=[sum(0.0 if p.grad is None else float(p.grad.abs().sum()) for p in m.parameters())
                   for m in heads],
        nonfinite=[n for n, p in model.named_parameters()
                   if p.grad is not None and not torch.isfinite(p.grad).all()],
    )


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


def classifier_training(mod, steps=20) -> ClassifierTraining:
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
    return ClassifierTraining(losses=losses, accuracy=acc, probabilities=probabilities)


def device_runs(mod, device) -> dict[str, DeviceRun]:
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
