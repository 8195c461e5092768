TITLE = "Datasets and data loaders"
MODULE = "data"
API = [
    "class TensorPairDataset(X, y, transform=None)",
    "class Standardizer()",
    "make_loaders(train_ds, test_ds, batch_size, seed=0)",
    "pad_collate(batch)",
]
