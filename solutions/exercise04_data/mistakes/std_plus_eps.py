# expect: standardizer_constant_feature
# message: standardizer_constant_feature: instead of clamping
"""A mistake: 1e-8 added to the std instead of clamping it from below."""

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset


class TensorPairDataset(Dataset):
    """Pairs (X[i], y[i]); the optional transform is applied to X[i] only, when the item is read."""

    def __init__(self, X, y, transform=None):
        self.X = X
        self.y = y
        self.transform = transform

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        x = self.X[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.y[i]


class Standardizer:
    """Per-feature standardization with statistics from the data given to `fit`."""

    def fit(self, X):
        self.mean = X.mean(dim=0)
        self.std = X.std(dim=0, unbiased=False) + 1e-8
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
