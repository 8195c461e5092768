# expect: dataset_items
# message: dataset_items: in __init__ and never when an item is read
"""A mistake: the transform is applied to every row once, in __init__, so every epoch sees the same sample."""

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset


class TensorPairDataset(Dataset):
    """Pairs (X[i], y[i]); the optional transform is applied to X[i] only, when the item is read."""

    def __init__(self, X, y, transform=None):
        self.X = torch.stack([transform(x) for x in X]) if transform is not None else X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


class Standardizer:
    """Per-feature standardization with statistics from the data given to `fit`."""

    def fit(self, X):
        self.mean = X.mean(dim=0)
        self.std = X.std(dim=0, unbiased=False).clamp_min(1e-8)
        return self

    def __call__(self, x):
        return (x - self.mean) / self.std


def make_loaders(train_ds, test_ds, batch_size, seed=0):
    """A shuffled, seeded training loader and an ordered test loader; both keep the last batch."""
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test_ds, batch_size=batch_size, shuffle=False)
    return train_loader, test_loader


def pad_collate(batch):
    """[(sequence, label), ...] -> (tokens (B, T_max) padded with 0, lengths (B,), labels (B,))."""
    sequences = [seq for seq, _ in batch]
    tokens = pad_sequence(sequences, batch_first=True, padding_value=0).long()
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long)
    labels = torch.tensor([int(label) for _, label in batch], dtype=torch.long)
    return tokens, lengths, labels
