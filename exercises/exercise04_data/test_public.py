"""Public checks for exercise04. Run: pytest exercises/exercise04_data  (then: grade exercise04)"""

import torch

from data import Standardizer, TensorPairDataset, make_loaders, pad_collate


def test_dataset_applies_the_transform_to_inputs_only():
    X, y = torch.arange(6.0).reshape(3, 2), torch.tensor([0, 1, 0])
    ds = TensorPairDataset(X, y, transform=lambda x: x * 10)
    assert len(ds) == 3
    x1, y1 = ds[1]
    torch.testing.assert_close(x1, torch.tensor([20.0, 30.0]))
    assert y1 == 1


def test_standardizer_uses_the_training_statistics():
    train = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    s = Standardizer().fit(train)
    torch.testing.assert_close(s(torch.tensor([[1.0, 1.0], [3.0, 2.0]])),
                               torch.tensor([[0.0, 0.0], [2.0, 1e8]]))


def test_train_loader_is_seeded_and_test_loader_ordered():
    ds = TensorPairDataset(torch.arange(10.0).unsqueeze(1), torch.arange(10))
    order = lambda loader: [int(i) for _, y in loader for i in y]
    train_a, test_a = make_loaders(ds, ds, batch_size=3, seed=5)
    train_b, _ = make_loaders(ds, ds, batch_size=3, seed=5)
    assert order(train_a) == order(train_b)
    assert sorted(order(train_a)) == list(range(10))
    assert order(test_a) == list(range(10))


def test_pad_collate_pads_with_zeros():
    tokens, lengths, labels = pad_collate([(torch.tensor([4, 5]), 1), (torch.tensor([6, 7, 8]), 0)])
    assert tokens.tolist() == [[4, 5, 0], [6, 7, 8]]
    assert lengths.tolist() == [2, 3] and labels.tolist() == [1, 0]
    assert tokens.dtype == lengths.dtype == labels.dtype == torch.long
