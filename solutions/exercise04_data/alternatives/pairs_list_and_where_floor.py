"""A correct alternative: the dataset keeps a list of pairs and transforms on read; the std floor via torch.where."""

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset


class TensorPairDataset(Dataset):
    """Pairs (X[i], y[i]); the optional transform is applied to X[i] only, when the item is read."""

    def __init__(self, X, y, transform=None):
        self.pairs = list(zip(X, y))
        self.transform = transform or (lambda x: x)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        x, target = self.pairs[i]
        return self.transform(x), target


class Standardizer:
    """Per-feature standardization with statistics from the data given to `fit`."""

    def fit(self, X):
        self.mean = X.mean(dim=0)
        std = X.std(dim=0, unbiased=False)
        self.std = torch.where(std < 1e-8, torch.full_like(std, 1e-8), std)
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
