"""Hidden checks for exercise04_data."""

import torch

from grader.checks import LOOSE, Mistake, Tolerance, check, close, expect, expect_close
from grader.suites.trusted_side import tensor_of
from grader.suites.worker_side import Described

N_TRAIN, N_TEST, BATCH = 22, 13, 4
# stds of order 1e-8, where any atol would swallow the value: relative only
RELATIVE = Tolerance(rtol=1e-3, atol=0.0)
# which std (biased or unbiased) the submission stored: they differ by far more than 1e-4 relative
STD_CHOICE = Tolerance(rtol=1e-4, atol=0.0)


def _transform(x):
    """The probe's spy transform, re-computed on the trusted side."""
    x = x.float()
    return (x - x.mean()) * 2 + 1


def _pair_of(item, i):
    if item is None:
        raise Mistake(f"dataset[{i}] should be a pair (x, y), got something else")
    return item


def _target_matches(desc: Described, want) -> bool:
    """y[i] as a 0-dim tensor (or, leniently, the same Python int)."""
    if desc.is_tensor:
        return desc.shape == [] and close(desc.values, want) and desc.dtype == str(want.dtype)
    return desc.type == "int" and desc.value == int(want)


# ---------------------------------------------------------------- api


@check("api")
def test_api(student):
    """The four names exist with the README's signatures and return the right kinds of things"""
    student.expect_api()
    got = student.run("dataset_all").plain
    expect(got.is_dataset, "TensorPairDataset should subclass torch.utils.data.Dataset")
    expect(got.len_type == "int", f"len(dataset) should be an int, got a {got.len_type}")
    _pair_of(got.items[0], 0)
    std = student.run("standardizer_all").normal
    expect(std.fit_returns_self,
           f"Standardizer.fit(X) should return the Standardizer itself (`return self`), "
           f"it returned a {std.fit_returned}")
    tensor_of(std.out_B, "Standardizer()(x)", shape=[9, 4])
    loaders = student.run("loaders_all").seed0
    expect(loaders.pair, f"make_loaders should return (train_loader, test_loader), "
           f"got a {loaders.type}")
    pad = student.run("pad_all").call
    expect(pad.triple, f"pad_collate should return a tuple (tokens, lengths, labels), got a "
           f"{pad.type}" + (f" of length {pad.len}" if pad.len is not None else ""))


# ---------------------------------------------------------------- dataset


@check("values", points=2)
def test_dataset_items(student):
    """TensorPairDataset: len is N; item i is (transform(X[i]), y[i]), transform on X[i] only"""
    data = student.run("dataset_all")
    plain = data.plain
    X, y = plain.X, plain.y
    expect(plain.len == len(X), f"len(dataset) should be {len(X)} (the number of rows of X), "
           f"got {plain.len}")
    for i, item in enumerate(plain.items):
        x_desc, y_desc = _pair_of(item, i)
        x = tensor_of(x_desc, f"x of dataset[{i}]", shape=list(X[i].shape), dtype=str(X.dtype))
        expect(torch.equal(x, X[i]), f"without a transform, dataset[{i}] should be (X[{i}], y[{i}])")
        expect(_target_matches(y_desc, y[i]), f"the target of dataset[{i}] should be y[{i}] as it is")

    spied = data.spied
    calls = spied.calls
    if any(c.shape == [] or not c.dtype.startswith("torch.float") for c in calls):
        raise Mistake("the transform was applied to the target y[i] too: apply it to X[i] only")
    if any(c.shape == list(X.shape) for c in calls):
        raise Mistake("the transform was called on the whole X at once (in __init__?): call it on "
                      "each X[i] in __getitem__, when the item is read")
    reads, n = spied.reads, len(X)
    if calls and any(r != 1 for r in reads):
        if not any(reads) and spied.calls_at_init:
            where = (f"the transform ran {spied.calls_at_init} times in __init__ and never when an item "
                     "is read")
        elif not any(reads[n:]):
            where = "the transformed items were kept after their first read and never transformed again"
        else:
            where = f"reading one item called the transform {max(reads)} times"
        raise Mistake(f"{where}: a random transform (augmentation) must give a fresh sample at every read, so "
                      "every epoch sees new ones; call transform(X[i]) in __getitem__, once per read")
    for i, item in enumerate(spied.items):
        x_desc, y_desc = _pair_of(item, i)
        x = tensor_of(x_desc, f"x of dataset[{i}]", shape=list(X[i].shape), dtype=None)
        if close(x, X[i]):
            raise Mistake("the transform was not applied: __getitem__ should return "
                          "(transform(X[i]), y[i]) when a transform is given")
        expect_close(x, _transform(X[i]), f"dataset[{i}] should be (transform(X[{i}]), y[{i}])")
        expect(_target_matches(y_desc, y[i]), f"the target of dataset[{i}] should be y[{i}], "
               "untouched by the transform")

    batches = data.loader.batches
    for b, batch in enumerate(batches):
        expect(batch is not None, "a DataLoader over your dataset did not give (inputs, targets) batches")
        xb = tensor_of(batch[0], "a batch of inputs", dtype=None)
        expect(close(xb, X[3 * b:3 * b + 3]) and close(tensor_of(batch[1], "a batch of targets", dtype=None),
                                                        y[3 * b:3 * b + 3]),
               "a DataLoader over your dataset gave batches that are not the rows of X and y in order")


# ---------------------------------------------------------------- Standardizer


def _standardize(x, mean, std):
    return (x - mean) / std


@check("values", points=2)
def test_standardizer_train_stats(student, reference):
    """Standardizer: per-feature mean and population std from fit's data, reused on other data"""
    got = student.run("standardizer_all").normal
    want = reference.run("standardizer_all").normal
    A, B = got.A, got.B
    expect(got.A_unchanged, "fit changed the training data in place; leave X as it is")
    out = tensor_of(got.out_B, "the standardized data", shape=list(B.shape))
    if not close(out, want.out_B.values):
        candidates = [
            (_standardize(B, B.mean(0), B.std(0, unbiased=False)),
             "it standardizes with the statistics of the data it is called on: use the mean and std "
             "stored by fit (the training data) for every later call, e.g. on test data"),
            (_standardize(B, B.mean(0), B.std(0)),
             "it standardizes with the statistics of the data it is called on: use the mean and std "
             "stored by fit (the training data) for every later call, e.g. on test data"),
            (_standardize(B, A.mean(0), A.std(0, unbiased=True)),
             "std is the unbiased (N-1) estimate: use the population std, X.std(0, unbiased=False)"),
            (_standardize(B, A.mean(), A.std(unbiased=False)),
             "mean and std were taken over all the values at once: compute them per feature (dim 0)"),
            (_standardize(B, A.mean(), A.std()),
             "mean and std were taken over all the values at once: compute them per feature (dim 0)"),
            (_standardize(B, A.mean(1, keepdim=True)[: len(B)], A.std(1, unbiased=False, keepdim=True)[: len(B)]),
             "the statistics were taken per sample (dim 1): compute them per feature, over dim 0"),
        ]
        for values, message in candidates:
            if close(out, values):
                raise Mistake(message)
        expect_close(out, want.out_B.values, "(x - mean) / std with fit's per-feature statistics "
                     "differs from the expected values")
    row = tensor_of(got.out_row, "the standardized single row", shape=[B.shape[1]])
    expect_close(row, want.out_row.values,
                 "standardizing one row (shape (features,)) should give the same numbers as that row "
                 "of a batch: (x - mean) / std broadcasts")
    for name in ("mean", "std"):
        desc = getattr(got, name)
        if not desc.is_tensor:
            raise Mistake(f"fit should store the per-feature statistics as the attribute `{name}` "
                          f"(a tensor of shape (features,))")
        values = tensor_of(desc, f"Standardizer.{name}", shape=[A.shape[1]])
        expect_close(values, getattr(want, name).values, f"Standardizer.{name} is not the per-feature "
                     f"{name} of the training data" + (" (population std, unbiased=False)" if name == "std" else ""))


@check("values")
def test_standardizer_constant_feature(student, reference):
    """Standardizer: a constant feature (std 0) gives finite values; std is clamped below at 1e-8, not shifted"""
    got = student.run("standardizer_all").constant
    want = reference.run("standardizer_all").constant
    A, B = got.A, got.B
    outs = {key: tensor_of(getattr(got, key), "the standardized data", shape=list(data.shape))
            for key, data in (("out_A", A), ("out_B", B))}
    if not all(torch.isfinite(out).all() for out in outs.values()):
        raise Mistake("a constant feature (std 0) gave NaN or inf: clamp the std below at 1e-8 "
                      "(std.clamp_min(1e-8))")
    desc = got.std
    expect(desc.is_tensor, "fit should store the per-feature std as the attribute `std`")
    std = tensor_of(desc, "Standardizer.std", shape=[A.shape[1]])
    expect(close(std[2], torch.tensor(1e-8), tol=RELATIVE),
           f"the std of a constant feature should be clamped to 1e-8, got {std[2].item():.3g}")
    for key, out in outs.items():
        expect_close(out[:, 2], getattr(want, key).values[:, 2],
                     "the constant feature should standardize to (x - mean) / 1e-8 (0 on the training "
                     "data) with the statistics stored by fit", tol=LOOSE)
    # tiny but nonzero std (about 3e-8, above the floor, and 4e-9, below it); biased or not is the
    # business of the train-stats check, so the submission's own choice is followed here
    unbiased = close(std[1].double(), A[:, 1].double().std(), tol=STD_CHOICE)
    true = A.double().std(0, unbiased=unbiased)
    for j in (0, 3):
        want_std = max(true[j].item(), 1e-8)
        if close(std[j].double(), true[j] + 1e-8, tol=RELATIVE):
            raise Mistake(f"1e-8 was added to the std instead of clamping it: a feature whose std is tiny but not "
                          f"zero ({true[j].item():.2g}) got std {std[j].item():.3g} instead of {want_std:.3g}; "
                          "clamp it from below, std.clamp_min(1e-8)")
        if true[j] < 1e-8 and close(std[j].double(), true[j], tol=RELATIVE):
            raise Mistake(f"only a std of exactly 0 was replaced: a feature whose std is below 1e-8 but not zero "
                          f"({true[j].item():.2g}) must be clamped to 1e-8 too, std.clamp_min(1e-8)")
        expect(close(std[j].double(), torch.tensor(want_std, dtype=torch.float64), tol=RELATIVE),
               f"a feature of tiny std {true[j].item():.2g} should get std {want_std:.3g} (the std clamped "
               f"below at 1e-8), got {std[j].item():.3g}")
    mean = A.double().mean(0)[[0, 3]]
    for key, data in (("out_A", A), ("out_B", B)):
        x = data.double()[:, [0, 3]]
        out = outs[key][:, [0, 3]].double()
        if close(out, (x - mean) / (std[[0, 3]].double() + 1e-8), tol=RELATIVE) and \
                not close(out, (x - mean) / std[[0, 3]].double(), tol=RELATIVE):
            raise Mistake("__call__ adds 1e-8 to the std it divides by: with a feature of tiny std that changes "
                          "the result; the clamp in fit is the only guard, return (x - mean) / std")
        expect_close(out, (x - mean) / std[[0, 3]].double(), "with a feature of tiny std, (x - mean) / std "
                     "with the stored statistics differs from what Standardizer returned", tol=LOOSE)


# ---------------------------------------------------------------- loaders


def _epochs(got, which, run=0):
    """The index order of every epoch of a loader: a list of lists of batches."""
    expect(got.pair, f"make_loaders should return (train_loader, test_loader), got a {got.type}")
    epochs = getattr(got.runs[run], which)
    for epoch in epochs:
        for batch in epoch:
            expect(batch is not None, f"the {which} loader's batches should be (inputs, targets) as the "
                   "default collate makes them; do not pass a collate_fn")
    return epochs


def _flat(epoch):
    return [i for batch in epoch for i in batch]


@check("values", points=2)
def test_train_loader_seeded(student):
    """The training loader shuffles with its own generator seeded by `seed`"""
    runs = student.run("loaders_all")
    base = runs.seed0
    first = [_flat(e) for e in _epochs(base, "train", 0)]
    second = [_flat(e) for e in _epochs(base, "train", 1)]
    expect(first[0] != sorted(first[0]) or first[1] != sorted(first[1]),
           "the training loader does not shuffle: use shuffle=True")
    expect(first == second,
           "two make_loaders calls with the same seed gave different training orders: create a "
           "torch.Generator, seed it with `seed` (manual_seed) and pass it to the DataLoader (generator=...)")
    disturbed = runs.disturbed
    expect([_flat(e) for e in _epochs(disturbed, "train")] == first,
           "the training order depends on the global random state (other code drawing random numbers "
           "changes it): instead of torch.manual_seed, give the DataLoader its own "
           "torch.Generator().manual_seed(seed)")
    other = runs.seed1
    expect([_flat(e) for e in _epochs(other, "train")] != first,
           "seed=1 gave the same training order as seed=0: the seed argument is ignored; seed the "
           "generator with it")
    default = student.run("loader_orders", seed=None)
    expect([_flat(e) for e in _epochs(default, "train")] == first,
           "make_loaders without a seed should give the same order as seed=0 (the default)")


@check("values")
def test_train_loader_reshuffles(student):
    """The training loader draws a new order every epoch"""
    got = student.run("loaders_all").seed0
    first, second = (_flat(e) for e in _epochs(got, "train"))
    expect(first != second,
           "the training loader gives the same order every epoch: let the DataLoader shuffle "
           "(shuffle=True with the seeded generator) instead of shuffling the data once")


@check("values")
def test_test_loader_order(student):
    """The test loader keeps the dataset's order"""
    got = student.run("loaders_all").seed0
    for epoch in _epochs(got, "test"):
        order = _flat(epoch)
        expect(order == list(range(len(order))),
               "the test loader shuffles: keep the test data in order (shuffle=False, no sampler)")


@check("values")
def test_loaders_keep_last_batch(student):
    """Both loaders give batches of batch_size, every sample once per epoch, the last partial batch kept"""
    got = student.run("loaders_all").seed0
    for which, n in (("train", N_TRAIN), ("test", N_TEST)):
        for epoch in _epochs(got, which):
            sizes = [len(b) for b in epoch]
            want = [BATCH] * (n // BATCH) + ([n % BATCH] if n % BATCH else [])
            if sizes == want[:-1]:
                raise Mistake(f"the {which} loader dropped the last, partial batch: keep it "
                              "(drop_last=False)")
            expect(sizes == want, f"with {n} samples and batch_size={BATCH} the {which} loader should "
                   f"give batches of sizes {want}, got {sizes}")
            expect(sorted(_flat(epoch)) == list(range(n)),
                   f"an epoch of the {which} loader should visit every sample exactly once")


# ---------------------------------------------------------------- pad_collate


def _pad_expected(sequences):
    T = max(len(s) for s in sequences)
    tokens = torch.zeros(len(sequences), T, dtype=torch.long)
    for i, s in enumerate(sequences):
        tokens[i, : len(s)] = torch.tensor(s)
    return tokens


def _parts(got):
    expect(got.triple, "pad_collate should return a tuple (tokens, lengths, labels)")
    return got.parts


@check("values", points=2)
def test_pad_collate_values(student):
    """pad_collate pads with 0 at the end, keeps the batch order, gives each sequence's length"""
    both = student.run("pad_all")
    got = both.call
    tokens_d, lengths_d, labels_d = _parts(got)
    seqs, labels = got.sequences, got.labels
    B, T = len(seqs), max(len(s) for s in seqs)
    want = _pad_expected(seqs)
    tokens = tensor_of(tokens_d, "tokens", dtype=None)
    if list(tokens.shape) == [T, B]:
        raise Mistake("tokens is (time, batch): return (batch, time), e.g. pad_sequence(..., batch_first=True)")
    tokens = tensor_of(tokens_d, "tokens", shape=[B, T], dtype=None)
    if not close(tokens, want):
        by_length = sorted(range(B), key=lambda i: -len(seqs[i]))
        if close(tokens, _pad_expected([seqs[i] for i in by_length])):
            raise Mistake("the rows were reordered (sorted by length?): row i must be the i-th sequence "
                          "of the batch")
        left = torch.zeros(B, T, dtype=torch.long)
        for i, s in enumerate(seqs):
            left[i, T - len(s):] = torch.tensor(s)
        if close(tokens, left):
            raise Mistake("the padding is at the start of each row: pad at the end")
        for i, s in enumerate(seqs):
            expect(close(tokens[i, : len(s)], torch.tensor(s)),
                   f"row {i} of tokens should start with the {i}-th sequence {s}")
        pad_values = sorted({int(v) for i, s in enumerate(seqs) for v in tokens[i, len(s):].tolist()})
        raise Mistake(f"padded positions hold {pad_values}: pad with 0 (padding_value=0)")
    lengths = tensor_of(lengths_d, "lengths", shape=[B], dtype=None)
    if close(lengths, torch.full((B,), T)):
        raise Mistake("lengths are all the padded length: give each sequence's own length before padding")
    expect_close(lengths, torch.tensor([len(s) for s in seqs]),
                 "lengths should be the length of each sequence, in batch order")
    expect_close(tensor_of(labels_d, "labels", shape=[B], dtype=None), torch.tensor(labels),
                 "labels should be the batch's labels, in batch order")

    for b, batch in enumerate(both.loader.batches):
        expect(batch is not None, "as a DataLoader's collate_fn, pad_collate did not return (tokens, lengths, labels)")
        part = seqs[2 * b: 2 * b + 2]
        tok = tensor_of(batch[0], "tokens", dtype=None)
        expect(close(tok, _pad_expected(part)) and close(tensor_of(batch[1], "lengths", dtype=None),
                                                          torch.tensor([len(s) for s in part])),
               "used as a DataLoader's collate_fn (batch_size=2), pad_collate should pad each batch to "
               "its own longest sequence")


@check("api")
def test_pad_collate_types(student):
    """pad_collate returns long tensors: tokens (B, T_max), lengths (B,), labels (B,)"""
    got = student.run("pad_all").call
    parts = _parts(got)
    B, T = len(got.sequences), max(len(s) for s in got.sequences)
    for desc, name, shape in zip(parts, ("tokens", "lengths", "labels"), ([B, T], [B], [B])):
        tensor_of(desc, name, shape=shape, dtype=None)
        expect(desc.dtype == "torch.int64",
               f"{name} should be a LongTensor (torch.long), got {desc.dtype}")
