"""Hidden checks for exercise08_masks."""

import torch

from grader.checks import FLOAT32_LAYERS, Mistake, check, close, expect, expect_close
from grader.suites.trusted_side import expect_device_runs, tensor_of

PAD_CASES = [([3, 1, 4], None), ([2, 5, 5, 1], None), ([4], None), ([2, 3, 1], 6), ([1, 4], 4)]


def _bool_values(desc, what, shape):
    """The mask's values as bool (the dtype is the business of `mask_dtypes`)."""
    values = tensor_of(desc, what, shape=shape, dtype=None)
    return values != 0


def _true_padding(lengths, T):
    return torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]


@check("api")
def test_api(student):
    """The four names exist with the README's signatures and return tensors of the right shapes"""
    student.expect_api()
    tensor_of(student.run("padding_mask_call", lengths=[3, 1, 4]).mask, "padding_mask([3, 1, 4])",
              shape=[3, 4], dtype=None)
    tensor_of(student.run("causal_mask_call", T=4).mask, "causal_mask(4)", shape=[4, 4], dtype=None)
    tensor_of(student.run("masked_mean_call").out, "masked_mean of x (3, 5, 4)", shape=[3, 4])
    got = student.run("classifier_behaviour", pad_idx=0)
    tensor_of(got.train.logits, "the classifier's logits for 3 sequences and 3 classes", shape=[3, 3])


@check("api")
def test_mask_dtypes(student):
    """padding_mask and causal_mask return bool tensors"""
    for what, desc in (("padding_mask", student.run("padding_mask_call", lengths=[3, 1, 4]).mask),
                       ("causal_mask", student.run("causal_mask_call", T=4).mask)):
        tensor_of(desc, f"the result of {what}", dtype=None)
        expect(desc.dtype == "torch.bool",
               f"{what} returns a {desc.dtype} tensor; masks must be torch.bool (True = not "
               "allowed): build it from a comparison such as `>=` or `>` (or call .bool())")


@check("values", points=2)
def test_padding_mask_values(student):
    """padding_mask is True exactly at the padded positions"""
    for lengths, max_len in PAD_CASES:
        if max_len is not None:
            continue
        got = student.run("padding_mask_call", lengths=lengths, max_len=None)
        T = max(lengths)
        want = _true_padding(lengths, T)
        mask = _bool_values(got.mask, f"padding_mask({lengths})", [len(lengths), T])
        if torch.equal(mask, want):
            continue
        if torch.equal(mask, ~want):
            raise Mistake(f"padding_mask({lengths}) has the polarity inverted: it must be True at the "
                          "PADDED positions (position >= length) and False at real tokens")
        if torch.equal(mask, torch.arange(T)[None, :] > torch.tensor(lengths)[:, None]):
            raise Mistake(f"padding_mask({lengths}) is off by one: position `length` is already "
                          "padding (use position >= length, not >)")
        raise Mistake(f"padding_mask({lengths}) is wrong: expected {want.int().tolist()}, "
                      f"got {mask.int().tolist()} (1 = padded)")
    expect(got.lengths_kept, "padding_mask changed the lengths tensor it was given")


@check("values")
def test_padding_mask_max_len(student):
    """padding_mask(lengths, max_len) has max_len columns"""
    for lengths, max_len in PAD_CASES:
        if max_len is None:
            continue
        got = student.run("padding_mask_call", lengths=lengths, max_len=max_len)
        shape = got.mask.shape
        if got.mask.is_tensor and shape == [len(lengths), max(lengths)] and max_len != max(lengths):
            raise Mistake(f"padding_mask({lengths}, max_len={max_len}) ignored max_len: it has "
                          f"{shape[1]} columns, expected {max_len} (T = max_len when it is given)")
        mask = _bool_values(got.mask, f"padding_mask({lengths}, max_len={max_len})",
                            [len(lengths), max_len])
        want = _true_padding(lengths, max_len)
        expect(torch.equal(mask, want), f"padding_mask({lengths}, max_len={max_len}) is wrong: expected "
               f"{want.int().tolist()}, got {mask.int().tolist()} (1 = padded)")


@check("values", points=2)
def test_causal_mask_values(student):
    """causal_mask(T) is True exactly where the key index is greater than the query index"""
    for T in (4, 7, 1):
        got = student.run("causal_mask_call", T=T)
        mask = _bool_values(got.mask, f"causal_mask({T})", [T, T])
        ones = torch.ones(T, T, dtype=torch.bool)
        want = ones.triu(1)
        if torch.equal(mask, want):
            continue
        if torch.equal(mask, ~want):
            raise Mistake(f"causal_mask({T}) has the polarity inverted: True must mark the FUTURE keys "
                          "(not allowed), False the allowed ones (note: F.scaled_dot_product_attention's "
                          "boolean attn_mask uses the opposite convention)")
        if torch.equal(mask, ones.triu(0)):
            raise Mistake(f"causal_mask({T}) masks the diagonal: a position may attend to itself, so "
                          "only key index > query index is True (triu with diagonal=1)")
        if torch.equal(mask, ones.triu(2)):
            raise Mistake(f"causal_mask({T}) is off by one: the key right after the query (just above "
                          "the diagonal) must be masked too (triu with diagonal=1)")
        if torch.equal(mask, ones.tril(-1)):
            raise Mistake(f"causal_mask({T}) is transposed: rows are queries, columns keys; True where "
                          "column > row")
        raise Mistake(f"causal_mask({T}) is wrong: expected {want.int().tolist()}, got {mask.int().tolist()}")


def _mean_candidates(x, pad):
    keep = (~pad).unsqueeze(-1).double()
    x = x.double()
    total = (x * keep).sum(1)
    return {
        "right": total / keep.sum(1),
        "by_T": total / x.shape[1],
        "plain": x.mean(1),
        "inverted": (x * (1 - keep)).sum(1) / (1 - keep).sum(1).clamp(min=1),
    }


@check("values", points=2)
def test_masked_mean_values(student):
    """masked_mean averages each row over its real (non-padded) positions only"""
    got = student.run("masked_mean_call", grad=False)
    out = tensor_of(got.out, "masked_mean of x (3, 5, 4)", shape=[3, 4])
    cand = _mean_candidates(got.x, got.pad)
    if not close(out, cand["right"].float()):
        if close(out, cand["by_T"].float()):
            raise Mistake("masked_mean divides by T (all positions): divide the sum over real positions "
                          "by the NUMBER OF REAL positions of each row, (~pad_mask).sum(1)")
        if close(out, cand["plain"].float()):
            raise Mistake("masked_mean ignores the mask: padded positions are averaged in too")
        if close(out, cand["inverted"].float()):
            raise Mistake("masked_mean averages the PADDED positions: the mask is True at padding, so "
                          "keep the positions where it is False")
        expect_close(out, cand["right"].float(), "masked_mean differs from the mean over the real positions")
    expect(got.x_kept and got.pad_kept,
           "masked_mean changed its input in place (e.g. masked_fill_): use the out-of-place version")


@check("gradients")
def test_masked_mean_gradients(student):
    """Gradients of masked_mean reach the real positions (1/count each) and are zero at padding"""
    got = student.run("masked_mean_call", grad=True)
    grad = got.x_grad
    expect(grad is not None, "no gradient reached x through masked_mean (was the result detached?)")
    pad, up = got.pad, got.upstream.double()
    keep = (~pad).unsqueeze(-1).double()
    want = keep * up[:, None, :] / keep.sum(1, keepdim=True)
    if close(grad, (keep * up[:, None, :] / pad.shape[1]).float()):
        raise Mistake("the gradient of masked_mean is 1/T per real position: divide by the number of "
                      "real positions, not by T")
    expect_close(grad, want.float(), "the gradient of masked_mean w.r.t. x is wrong (it must be "
                 "upstream/count at real positions and exactly 0 at padded ones)")


# ----------------------------------------------------------------- SequenceClassifier


def _spy_message(info):
    """Why the classifier depends on padding, from what the encoder layer was given."""
    spy = info.spy
    tokens = info.tokens
    if spy.n_layers == 0:
        return "no nn.TransformerEncoderLayer was found in the model"
    if not spy.masks:
        return "the nn.TransformerEncoderLayer was never called"
    mask = spy.masks[0]
    if mask is None:
        return ("the encoder layer was called without src_key_padding_mask: pass "
                "src_key_padding_mask=(tokens == pad_idx) so attention ignores the padded keys")
    if isinstance(mask, str) or list(mask.shape) != list(tokens.shape):
        return "the key padding mask given to the encoder layer is not a (B, T) tensor"
    pad_idx = info.pad_idx
    want = tokens == pad_idx
    if torch.equal(mask, ~want):
        return ("the key padding mask is inverted: it must be True at padded tokens "
                "(tokens == pad_idx)")
    if not torch.equal(mask, want):
        return ("the key padding mask does not mark the tokens equal to pad_idx (is pad_idx hard-coded "
                "to 0? padding is where tokens == pad_idx)")
    return ("the pooling uses padded positions: average the encoder output over the real positions "
            "only (masked_mean)")


def _behaviour(student, pad_idx):
    return student.run("classifier_behaviour", pad_idx=pad_idx)


def _embedded_behaviour(student, pad_idx):
    """`_behaviour`, once the model is seen to embed the tokens with an nn.Embedding."""
    info = _behaviour(student, pad_idx)
    expect(info.n_token_embeddings > 0, "no nn.Embedding of the model was called with the tokens: "
           "embed them with nn.Embedding(vocab_size, d_model, padding_idx=pad_idx)")
    return info


def _same(a, b):
    """close(), with NaN equal to NaN (NaN logits are reported by the checks that are about them)."""
    return torch.equal(a.isnan(), b.isnan()) and close(a.nan_to_num(0.0), b.nan_to_num(0.0), tol=FLOAT32_LAYERS)


def _expect_deterministic(info, mode):
    part = getattr(info, mode)
    first = tensor_of(part.logits, f"the logits ({mode} mode)", shape=[3, 3])
    again = tensor_of(part.again, f"the logits ({mode} mode)", shape=[3, 3])
    expect(_same(first, again), f"two identical calls in {mode} mode gave different logits: build the "
           "encoder layer with dropout=0.0 (and add no other randomness)")
    return first


def _expect_padding_invariant(info, mode):
    part = getattr(info, mode)
    first = _expect_deterministic(info, mode)
    longer = tensor_of(part.longer, f"the logits ({mode} mode)", shape=[3, 3])
    where = f" (pad_idx={info.pad_idx}, {mode} mode)"
    if first.isnan().any():
        raise Mistake("the logits contain NaN" + where + ": " + _spy_message(info))
    if not close(longer, first, tol=FLOAT32_LAYERS):
        raise Mistake("appending padding to a batch changed the logits" + where + ": " + _spy_message(info))
    for i, alone in enumerate(part.alone):
        single = tensor_of(alone, f"the logits of a single sequence ({mode} mode)", shape=[1, 3])
        if not close(single[0], first[i], tol=FLOAT32_LAYERS):
            raise Mistake(f"sequence {i} alone (no padding) gets other logits than inside a padded batch"
                          + where + ": " + _spy_message(info))


@check("modes")
def test_classifier_dropout_off(student):
    """The classifier is deterministic in train mode (dropout=0.0) and gives the same logits in eval mode"""
    info = _behaviour(student, 0)
    train = _expect_deterministic(info, "train")
    evals = _expect_deterministic(info, "eval")
    both = train.isfinite() & evals.isfinite()  # NaN is reported by the padding checks
    expect(close(train[both], evals[both], tol=FLOAT32_LAYERS), "the logits differ between train and eval mode: the "
           "encoder layer must use dropout=0.0 (and the model no other train-only behaviour)")


@check("values", points=2)
def test_classifier_padding_invariance(student):
    """Appending padding leaves every sequence's logits unchanged (train mode)"""
    for pad_idx in (0, 3):
        _expect_padding_invariant(_behaviour(student, pad_idx), "train")


@check("modes")
def test_classifier_eval_padding_invariance(student):
    """In eval mode under no_grad (the encoder's fast path) padding still does not change the logits"""
    for pad_idx in (0, 3):
        _expect_padding_invariant(_behaviour(student, pad_idx), "eval")


@check("values")
def test_classifier_pad_content_ignored(student):
    """Whatever the embeddings at padded positions hold, the logits stay the same"""
    for pad_idx in (0, 3):
        info = _embedded_behaviour(student, pad_idx)
        for mode in ("train", "eval"):
            _expect_deterministic(info, mode)
            longer = tensor_of(getattr(info, mode).longer, "the logits", shape=[3, 3])
            noisy = tensor_of(getattr(info, mode).noisy_pad, "the logits", shape=[3, 3])
            if not close(noisy, longer, tol=FLOAT32_LAYERS):
                raise Mistake(f"changing the embeddings of padded positions changed the logits (pad_idx="
                              f"{pad_idx}, {mode} mode): " + _spy_message(info))


@check("api")
def test_classifier_embedding_padding_idx(student):
    """The token embedding is built with padding_idx=pad_idx (its pad row starts at zero)"""
    for pad_idx in (0, 3):
        info = _embedded_behaviour(student, pad_idx)
        found = info.padding_idx
        expect(pad_idx in found, f"the token embedding has padding_idx={found[0]}, expected {pad_idx}: "
               "build it with nn.Embedding(vocab_size, d_model, padding_idx=pad_idx) so the pad token's "
               "vector is zero and never trained")
        expect(all(info.pad_row_zero), f"the embedding row of pad_idx={pad_idx} is not zero at "
               "initialisation (did you re-initialise the whole embedding weight?)")


@check("gradients")
def test_classifier_gradients(student):
    """A backward pass reaches the embedding and the classification head, with finite gradients"""
    got = student.run("classifier_gradients")
    expect(got.loss_has_graph, "the logits carry no graph: the loss cannot be backpropagated")
    expect(got.n_token_embeddings > 0, "no nn.Embedding of the model was called with the tokens")
    expect(not got.nonfinite, f"non-finite gradients in {', '.join(got.nonfinite[:3])}")
    grads = got.embedding_grad_used
    expect(all(g is not None and g > 0 for g in grads),
           "no gradient reaches the token embedding (is its output detached or computed under no_grad?)")
    expect(got.n_heads > 0, "no nn.Linear head with out_features = num_classes was found")
    expect(any(g > 0 for g in got.head_grad), "no gradient reaches the classification head")


@check("loss-decrease")
def test_classifier_learns(student):
    """A few Adam steps on a small task make the loss fall"""
    got = student.run("classifier_training")
    losses = got.losses
    expect(all(l == l for l in losses), "the loss became NaN during training")
    softmax = (": the model returns probabilities (each row sums to 1), so softmax was applied before "
               "F.cross_entropy / nn.CrossEntropyLoss, which applies log_softmax itself; forward must return "
               "the raw logits") if got.probabilities else ""
    expect(losses[-1] < 0.3 * losses[0],
           f"in 20 Adam steps the loss fell only from {losses[0]:.3f} to {losses[-1]:.3f}{softmax}")
    expect(got.accuracy >= 0.9, f"after training, accuracy on the training set is only {got.accuracy:.2f}")


DEVICE_RUNS = {"train": "the classifier in train mode (forward and backward)",
               "eval": "the classifier in eval mode under no_grad", "masked_mean": "masked_mean"}


@check("device")
def test_device(student):
    """The classifier moved to a device, and masked_mean, run there (meta, and cuda when present), making no tensor elsewhere"""
    made = ("a tensor made on the default device (cpu) inside it met them, e.g. positions from torch.arange(T) "
            "or a mask from torch.zeros(...); create it on the input's device (device=tokens.device, or "
            "torch.zeros_like)")
    expect_device_runs(student, DEVICE_RUNS, made)
