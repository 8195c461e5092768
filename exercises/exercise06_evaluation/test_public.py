"""Public checks for exercise06. Run: pytest exercises/exercise06_evaluation  (then: grade exercise06)"""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from evaluation import EarlyStopping, classification_report, predict


def test_predict_restores_train_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    X = torch.randn(5, 3)
    loader = DataLoader(TensorDataset(X, torch.zeros(5, dtype=torch.long)), batch_size=2)
    preds = predict(model, loader)
    assert preds.dtype == torch.long and preds.shape == (5,)
    model.eval()
    assert torch.equal(preds, model(X).argmax(1))
    model.train()
    predict(model, loader)
    assert model.training


def test_classification_report_perfect_and_zero_division():
    report = classification_report(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 1]))
    assert report == pytest.approx({"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0})
    # class 2 is predicted but never a target: its recall is 0/0, which counts as 0
    report = classification_report(torch.tensor([0, 2]), torch.tensor([0, 0]))
    assert report["precision"] == pytest.approx(0.5) and report["recall"] == pytest.approx(0.25)


def test_early_stopping_patience_and_copy():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2)
    assert stopper.step(1.0, model) is False
    best = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)  # training goes on, in place
    assert stopper.step(1.5, model) is False
    assert stopper.step(1.2, model) is True
    stopper.restore(model)
    assert torch.equal(model.weight, best)
