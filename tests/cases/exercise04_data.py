"""exercise04_data: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

APPLY = "        if self.transform is not None:\n            x = self.transform(x)\n"
TRAIN = "DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=generator)"
TEST = "DataLoader(test_ds, batch_size=batch_size, shuffle=False)"
STD = "X.std(dim=0, unbiased=False).clamp_min(1e-8)"

MISTAKES = {
    "transform_not_applied": (
        [(APPLY, "")],
        {"dataset_items": "not applied"}),
    "transform_on_target_too": (
        [("        return x, self.y[i]",
          "        y = self.y[i]\n        if self.transform is not None:\n            y = self.transform(y)\n"
          "        return x, y")],
        {"dataset_items": "target"}),
    "transform_whole_X_in_init": (
        [("        self.X = X\n", "        self.X = X if transform is None else transform(X)\n"), (APPLY, "")],
        {"dataset_items": "whole x"}),
    "len_is_feature_count": (
        [("        return len(self.X)", "        return self.X.shape[1]")],
        {"dataset_items": "len(dataset)"}),
    "fit_returns_none": (
        [("        return self\n", "")],
        {"api": "return self"}),
    "standardizes_with_its_input_stats": (
        [("        return (x - self.mean) / self.std",
          "        return (x - x.mean(0)) / x.std(0, unbiased=False).clamp_min(1e-8)")],
        {"standardizer_train_stats": "statistics of the data it is called on",
         "standardizer_constant_feature": "statistics stored by fit"}),
    "unbiased_std": (
        [(STD, "X.std(dim=0).clamp_min(1e-8)")],
        {"standardizer_train_stats": "unbiased"}),
    "std_not_clamped": (
        [(STD, "X.std(dim=0, unbiased=False)")],
        {"standardizer_constant_feature": "clamp"}),
    "global_statistics": (
        [("X.mean(dim=0)", "X.mean()"), (STD, "X.std(unbiased=False).clamp_min(1e-8)")],
        {"standardizer_train_stats": "per feature",
         "standardizer_constant_feature": "Standardizer.std has shape ()"}),
    "std_clamped_elsewhere": (
        [(STD, "X.std(dim=0, unbiased=False).clamp_min(1e-4)")],
        {"standardizer_constant_feature": "clamped to 1e-8, got 0.0001"}),
    "no_generator": (
        [(TRAIN, "DataLoader(train_ds, batch_size=batch_size, shuffle=True)")],
        {"train_loader_seeded": "same seed gave different training orders"}),
    "global_manual_seed": (
        [("    generator = torch.Generator().manual_seed(seed)\n", "    torch.manual_seed(seed)\n    generator = None\n")],
        {"train_loader_seeded": "global random state"}),
    "seed_ignored": (
        [("torch.Generator().manual_seed(seed)", "torch.Generator().manual_seed(0)")],
        {"train_loader_seeded": "ignored"}),
    "shuffled_once": (
        [(TRAIN, "DataLoader(torch.utils.data.Subset(train_ds, torch.randperm(len(train_ds), "
                 "generator=generator).tolist()), batch_size=batch_size)")],
        {"train_loader_reshuffles": "same order every epoch"}),
    "train_not_shuffled": (
        [(TRAIN, "DataLoader(train_ds, batch_size=batch_size, shuffle=False)")],
        {"train_loader_seeded": "does not shuffle", "train_loader_reshuffles": "same order every epoch"}),
    "test_shuffled": (
        [(TEST, "DataLoader(test_ds, batch_size=batch_size, shuffle=True, generator=generator)")],
        {"test_loader_order": "shuffles"}),
    "train_drops_last": (
        [(TRAIN, "DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=generator, drop_last=True)")],
        {"loaders_keep_last_batch": "dropped the last"}),
    "test_drops_last": (
        [(TEST, "DataLoader(test_ds, batch_size=batch_size, drop_last=True)")],
        {"loaders_keep_last_batch": "test loader dropped"}),
    "pads_with_minus_one": (
        [("padding_value=0", "padding_value=-1")],
        {"pad_collate_values": "pad with 0"}),
    "sorts_by_length": (
        [('    sequences = [seq for seq, _ in batch]\n',
          '    batch = sorted(batch, key=lambda pair: -len(pair[0]))\n    sequences = [seq for seq, _ in batch]\n')],
        {"pad_collate_values": "reordered"}),
    "pads_at_the_start": (
        [("padding_value=0)", "padding_value=0, padding_side=\"left\")")],
        {"pad_collate_values": "at the start"}),
    "time_major_tokens": (
        [("batch_first=True", "batch_first=False")],
        {"pad_collate_values": "(time, batch)", "pad_collate_types": "shape"}),
    "lengths_after_padding": (
        [("[len(seq) for seq in sequences]", "[tokens.shape[1]] * len(sequences)")],
        {"pad_collate_values": "padded length"}),
    "float_labels": (
        [("for _, label in batch], dtype=torch.long)", "for _, label in batch], dtype=torch.float)")],
        {"pad_collate_types": "labels should be a longtensor"}),
}

ALTERNATIVES = {
    "dataset_as_list_of_pairs": '''
class TensorPairDataset(Dataset):
    def __init__(self, X, y, transform=None):
        super().__init__()
        self.pairs = list(zip(X, y))
        self.transform = transform

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        x, y = self.pairs[index]
        return (self.transform(x) if self.transform else x), y
''',
    "standardizer_by_hand": '''
class Standardizer:
    def fit(self, X):
        n = X.shape[0]
        self.mean = X.sum(0) / n
        var = ((X - self.mean) ** 2).sum(0) / n
        self.std = torch.maximum(var.sqrt(), torch.tensor(1e-8))
        return self

    def __call__(self, x):
        return (x - self.mean).div(self.std)
''',
    "standardizer_var_mean": '''
class Standardizer:
    def __init__(self):
        self.mean = self.std = None

    def fit(self, X):
        var, mean = torch.var_mean(X, dim=0, correction=0)
        self.mean, self.std = mean, torch.clamp(var.sqrt(), min=1e-8)
        return self

    def __call__(self, x):
        return (x - self.mean) * (1.0 / self.std)
''',
    "explicit_samplers": '''
from torch.utils.data import RandomSampler, SequentialSampler


def make_loaders(train_ds, test_ds, batch_size, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    train = DataLoader(train_ds, batch_size, sampler=RandomSampler(train_ds, generator=g))
    test = DataLoader(test_ds, batch_size, sampler=SequentialSampler(test_ds), drop_last=False)
    return train, test
''',
    "pad_by_hand": '''
def pad_collate(batch):
    lengths = torch.tensor([seq.numel() for seq, _ in batch])
    tokens = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
    for row, (seq, _) in enumerate(batch):
        tokens[row, : len(seq)] = seq
    labels = torch.tensor([label for _, label in batch])
    return tokens, lengths, labels
''',
    "pad_with_F_pad": '''
import torch.nn.functional as F


def pad_collate(batch):
    seqs, labels = zip(*batch)
    T = max(len(s) for s in seqs)
    tokens = torch.stack([F.pad(s, (0, T - len(s)), value=0) for s in seqs])
    return tokens, torch.tensor(list(map(len, seqs)), dtype=torch.long), torch.tensor(labels, dtype=torch.long)
''',
}
