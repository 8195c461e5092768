"""Probes for exercise04 (run in the worker on the submission; return plain data)."""

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from grader.suites.worker_side import Described, describe


# ---- what the probes return ----

Pair = tuple[Described, Described]  # an item or batch (x, y), described


@dataclass
class TransformCall:
    """What the spy transform was given."""
    shape: list[int]
    dtype: str


@dataclass
class DatasetItems:
    """TensorPairDataset's items over two epochs of reads, with or without the spy transform."""
    X: Tensor
    y: Tensor
    len: int  # len(dataset)
    len_type: str
    items: list[Pair | None]  # item i, as first read; None when it is not a pair
    is_dataset: bool  # whether it subclasses Dataset
    calls: list[TransformCall]
    calls_at_init: int  # transform calls made while the dataset was built
    reads: list[int]  # transform calls made by each read


@dataclass
class DatasetLoader:
    batches: list[Pair | None]  # a plain DataLoader's batches (batch_size=3)


@dataclass
class DatasetAll:
    plain: DatasetItems  # without a transform
    spied: DatasetItems  # with the spy transform
    loader: DatasetLoader


@dataclass
class StandardizerRun:
    """fit on A, then standardize B, one row of B, and A."""
    A: Tensor
    B: Tensor
    fit_returns_self: bool
    fit_returned: str  # its type
    A_unchanged: bool  # fit left A as it was
    mean: Described  # the attributes fit stored (NoneType when missing)
    std: Described
    out_B: Described
    out_row: Described
    out_A: Described


@dataclass
class StandardizerAll:
    normal: StandardizerRun
    constant: StandardizerRun  # with a constant feature and tiny stds


@dataclass
class LoaderRun:
    """One make_loaders call: per epoch, each batch's indices (None when it is not (inputs, targets))."""
    train: list[list[list[int] | None]]
    test: list[list[list[int] | None]]


@dataclass
class LoaderOrders:
    pair: bool  # whether make_loaders returned a pair
    type: str | None = None  # what it returned, when not a pair
    runs: list[LoaderRun] | None = None  # two calls in a row, when it returned pairs


@dataclass
class LoadersAll:
    seed0: LoaderOrders
    disturbed: LoaderOrders  # seed=0, with the global generator used in between
    seed1: LoaderOrders


@dataclass
class PadCall:
    """pad_collate on one batch of (sequence, label) pairs."""
    triple: bool  # whether it returned 3 things
    type: str
    len: int | None  # its length, when a tuple or list
    parts: list[Described] | None  # (tokens, lengths, labels), when a triple
    sequences: list[list[int]]  # the batch it was given
    labels: list[int]


@dataclass
class PadLoader:
    batches: list[list[Described] | None]  # as a DataLoader's collate_fn (batch_size=2); None when not a triple


@dataclass
class PadAll:
    call: PadCall
    loader: PadLoader


def dataset_data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(7, 3, generator=g)
    y = torch.randint(0, 4, (7,), generator=g)
    return X, y


def _pair(item) -> Pair | None:
    """An item as (x, y) descriptions, or None when it is not a pair."""
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return (describe(item[0]), describe(item[1]))
    return None


def dataset_items(mod, with_transform) -> DatasetItems:
    """Items of TensorPairDataset, with a spy transform that records what it is given."""
    X, y = dataset_data()
    calls = []

    def transform(x):
        calls.append(TransformCall(shape=list(x.shape), dtype=str(x.dtype)))
        x = x.float()
        return (x - x.mean()) * 2 + 1  # per-sample: differs if applied to the whole X at once

    ds = mod.TensorPairDataset(X, y, transform=transform) if with_transform else mod.TensorPairDataset(X, y)
    calls_at_init = len(calls)
    n = len(ds)
    items, reads = [], []
    for _ in range(2):  # two epochs: every read must call the transform again
        for i in range(len(X)):
            before = len(calls)
            item = _pair(ds[i])
            reads.append(len(calls) - before)
            if len(items) < len(X):
                items.append(item)
    return DatasetItems(X=X, y=y, len=n, len_type=type(n).__name__, items=items,
                        is_dataset=isinstance(ds, Dataset), calls=calls, calls_at_init=calls_at_init,
                        reads=reads)


def dataset_in_loader(mod) -> DatasetLoader:
    """The dataset works with a plain DataLoader: batches stack X rows and y entries."""
    X, y = dataset_data()
    loader = DataLoader(mod.TensorPairDataset(X, y), batch_size=3)
    batches = []
    for batch in loader:
        batches.append(_pair(batch))
    return DatasetLoader(batches=batches)


def standardizer_data(constant):
    """constant=True: feature 2 is constant (std 0), features 0 and 3 have a tiny std, about 3e-8
    and 4e-9 (centred on 0, where float32 resolves them)."""
    g = torch.Generator().manual_seed(3)
    A = torch.randn(40, 4, generator=g) * torch.tensor([1.0, 5.0, 0.2, 3.0]) + torch.tensor([2.0, -1.0, 0.5, 10.0])
    B = torch.randn(9, 4, generator=g) * 2.0 + 1.0
    if constant:
        A[:, 2] = 3.0
        B[:, 2] = torch.tensor([3.0, 3.25, 2.5, 3.0, 3.0, 3.5, 3.0, 2.75, 3.0])
        A[:, 0] = 3e-8 * torch.randn(40, generator=g)
        A[:, 3] = 4e-9 * torch.randn(40, generator=g)
        B[:, 0] = 1e-7 * torch.randn(9, generator=g)
        B[:, 3] = 1e-8 * torch.randn(9, generator=g)
    return A, B


def standardizer_call(mod, constant=False) -> StandardizerRun:
    """fit on A (training data), then standardize A, B (other data) and one row of B."""
    A, B = standardizer_data(constant)
    A_before = A.clone()
    s = mod.Standardizer()
    returned = s.fit(A)
    out_B = s(B)
    out_row = s(B[0])
    out_A = s(A)
    return StandardizerRun(A=A, B=B, fit_returns_self=returned is s,
                           fit_returned=type(returned).__name__,
                           A_unchanged=torch.equal(A, A_before),
                           mean=describe(getattr(s, "mean", None)), std=describe(getattr(s, "std", None)),
                           out_B=describe(out_B), out_row=describe(out_row), out_A=describe(out_A))


class IndexDataset(Dataset):
    """Item i is (float features [i], label i), so a batch's labels are its indices."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.tensor([float(i)]), i


def _indices(batch) -> list[int] | None:
    if isinstance(batch, (list, tuple)) and len(batch) == 2 and isinstance(batch[1], torch.Tensor):
        return [int(v) for v in batch[1].reshape(-1).tolist()]
    return None


N_TRAIN, N_TEST, BATCH = 22, 13, 4


def _make(mod, seed):
    train_ds, test_ds = IndexDataset(N_TRAIN), IndexDataset(N_TEST)
    if seed is None:
        return mod.make_loaders(train_ds, test_ds, BATCH)
    return mod.make_loaders(train_ds, test_ds, BATCH, seed=seed)


def loader_orders(mod, seed=0, disturb=False, epochs=2) -> LoaderOrders:
    """Batches (as index lists) of two make_loaders calls in a row, `epochs` passes each.

    seed=None calls make_loaders without the seed argument. disturb=True reseeds and uses
    the global random generator between building the loaders and iterating them.
    """
    runs = []
    for _ in range(2):
        loaders = _make(mod, seed)
        if not (isinstance(loaders, (tuple, list)) and len(loaders) == 2):
            return LoaderOrders(pair=False, type=type(loaders).__name__)
        train, test = loaders
        if disturb:
            torch.manual_seed(1234)
            torch.rand(100)
        train_epochs = [[_indices(b) for b in train] for _ in range(epochs)]
        if disturb:
            torch.rand(7)
        test_epochs = [[_indices(b) for b in test] for _ in range(epochs)]
        runs.append(LoaderRun(train=train_epochs, test=test_epochs))
    return LoaderOrders(pair=True, runs=runs)


SEQUENCES = [[5, 3, 9], [7], [2, 4, 6, 8, 1], [1, 1]]
LABELS = [1, 0, 2, 3]


def _seq_batch():
    return [(torch.tensor(s, dtype=torch.long), lab) for s, lab in zip(SEQUENCES, LABELS)]


def pad_collate_call(mod) -> PadCall:
    out = mod.pad_collate(_seq_batch())
    triple = isinstance(out, (tuple, list)) and len(out) == 3
    return PadCall(triple=triple, type=type(out).__name__,
                   len=len(out) if isinstance(out, (tuple, list)) else None,
                   parts=[describe(v) for v in out] if triple else None,
                   sequences=SEQUENCES, labels=LABELS)


def pad_collate_in_loader(mod) -> PadLoader:
    """pad_collate as a DataLoader's collate_fn over the same pairs, batch_size=2."""
    loader = DataLoader(_seq_batch(), batch_size=2, collate_fn=mod.pad_collate)
    batches = []
    for out in loader:
        triple = isinstance(out, (tuple, list)) and len(out) == 3
        batches.append([describe(v) for v in out] if triple else None)
    return PadLoader(batches=batches)


# ------------------------------------------------------------------ grouped probes
# One worker per group keeps the suite fast; each check reads its part.


def dataset_all(mod) -> DatasetAll:
    return DatasetAll(plain=dataset_items(mod, with_transform=False),
                      spied=dataset_items(mod, with_transform=True),
                      loader=dataset_in_loader(mod))


def standardizer_all(mod) -> StandardizerAll:
    return StandardizerAll(normal=standardizer_call(mod, constant=False),
                           constant=standardizer_call(mod, constant=True))


def loaders_all(mod) -> LoadersAll:
    """seed=0 twice in a row, seed=0 with the global generator disturbed, seed=1."""
    return LoadersAll(seed0=loader_orders(mod, seed=0), disturbed=loader_orders(mod, seed=0, disturb=True),
                      seed1=loader_orders(mod, seed=1))


def pad_all(mod) -> PadAll:
    return PadAll(call=pad_collate_call(mod), loader=pad_collate_in_loader(mod))
