"""Exercise 04: datasets and data loaders.

Fill in the classes and functions below. Read README.md first; run `grade exercise04` to grade.
"""

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset


class TensorPairDataset(Dataset):
    """A dataset of pairs (X[i], y[i]).

    Item i is (transform(X[i]) if transform else X[i], y[i]): the transform is applied to
    the input X[i] only (never to the target), when the item is read.
    """

    def __init__(self, X, y, transform=None):
        # TODO: keep X, y and transform.
        raise NotImplementedError("TODO: TensorPairDataset.__init__")

    def __len__(self):
        # TODO: the number of samples.
        raise NotImplementedError("TODO: TensorPairDataset.__len__")

    def __getitem__(self, i):
        # TODO: return (x, y) for sample i, applying the transform to x if there is one.
        raise NotImplementedError("TODO: TensorPairDataset.__getitem__")


class Standardizer:
    """Per-feature standardization: (x - mean) / std with statistics from the training data.

    fit(X) stores the per-feature `mean` and `std` of X (std = X.std(0, unbiased=False),
    clamped below at 1e-8) and returns self. Calling the fitted Standardizer on x (a batch
    (N, features) or one row (features,)) returns (x - mean) / std using the stored
    statistics. Fit it on the training data only.
    """

    def fit(self, X):
        # TODO: store self.mean and self.std (per feature, over dim 0), return self.
        raise NotImplementedError("TODO: Standardizer.fit")

    def __call__(self, x):
        # TODO: standardize x with the stored statistics.
        raise NotImplementedError("TODO: Standardizer.__call__")


def make_loaders(train_ds, test_ds, batch_size, seed=0):
    """Return (train_loader, test_loader).

    The training loader shuffles with a torch.Generator seeded by `seed` (two calls with
    the same seed give the same order; successive epochs differ). The test loader keeps
    the order. Both keep the last partial batch.
    """
    # TODO: a seeded torch.Generator for the training DataLoader; no shuffling for the test one.
    raise NotImplementedError("TODO: make_loaders")


def pad_collate(batch):
    """Collate a list of (1-D LongTensor sequence, int label) into (tokens, lengths, labels).

    tokens: (B, T_max) long, each sequence padded with 0 at the end; lengths: (B,) long,
    the length of each sequence; labels: (B,) long. The order of the batch is kept.
    """
    # TODO: pad_sequence(..., batch_first=True, padding_value=0) or a zero tensor filled row by row.
    raise NotImplementedError("TODO: pad_collate")
