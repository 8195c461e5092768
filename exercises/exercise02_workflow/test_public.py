"""Public checks for exercise02. Run: pytest exercises/exercise02_workflow  (then: grade exercise02)"""

import torch

from workflow import LinearModel, evaluate, fit, load, make_loss_and_optimizer, save, split


def test_split_sizes_and_pairing():
    X = torch.arange(40.0).reshape(20, 2)
    y = X[:, :1] * 10
    X_train, y_train, X_test, y_test = split(X, y, test_fraction=0.25, seed=0)
    assert len(X_test) == 5 and len(X_train) == 15
    torch.testing.assert_close(y_train, X_train[:, :1] * 10)
    torch.testing.assert_close(y_test, X_test[:, :1] * 10)
    assert sorted(torch.cat([X_train, X_test])[:, 0].tolist()) == X[:, 0].tolist()


def test_training_reduces_the_loss():
    torch.manual_seed(0)
    X = torch.randn(50, 2)
    y = X @ torch.tensor([[2.0], [-1.0]]) + 0.5
    model = LinearModel(2)
    loss_fn, optimizer = make_loss_and_optimizer(model, lr=0.1)
    losses = fit(model, X, y, loss_fn, optimizer, epochs=50)
    assert len(losses) == 50 and all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.01 * losses[0]
    assert evaluate(model, X, y, loss_fn) < 0.01


def test_save_and_load(tmp_path):
    model = LinearModel(3)
    path = tmp_path / "model.pt"
    save(model, path)
    assert isinstance(torch.load(path, weights_only=True), dict)
    x = torch.randn(4, 3)
    torch.testing.assert_close(load(path, 3)(x), model(x))
