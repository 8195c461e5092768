# expect: predict_device
# message: predict_device: met the model's outputs
"""A mistake: predictions concatenated onto an empty tensor made on the default device (cpu)."""

import copy

import torch


def predict(model, loader, device="cpu"):
    """Argmax class of every sample (1-D long, in loader order), in eval mode without a graph.

    The loader yields (inputs, targets) batches; the targets are not used. Afterwards the
    model is back in the mode (train or eval) it was in before the call.
    """
    was_training = model.training
    model.eval()
    try:
        preds = torch.tensor([], dtype=torch.long)
        with torch.no_grad():
            for inputs, _ in loader:
                preds = torch.cat([preds, model(inputs.to(device)).argmax(dim=1)])
    finally:
        model.train(was_training)
    return preds


def classification_report(preds, targets):
    """Accuracy and macro precision, recall and F1 over the classes present in preds or targets.

    A 0/0 counts as 0 (as scikit-learn with zero_division=0).
    """
    preds, targets = preds.reshape(-1), targets.reshape(-1)
    classes = torch.unique(torch.cat([preds, targets]))
    precisions, recalls, f1s = [], [], []
    for c in classes:
        tp = ((preds == c) & (targets == c)).sum().item()
        predicted = (preds == c).sum().item()
        actual = (targets == c).sum().item()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        precisions.append(p)
        recalls.append(r)
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    n = len(classes)
    return {
        "accuracy": (preds == targets).float().mean().item(),
        "precision": sum(precisions) / n,
        "recall": sum(recalls) / n,
        "f1": sum(f1s) / n,
    }


class EarlyStopping:
    """Signals a stop after `patience` calls in a row without an improvement of more than min_delta."""

    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.bad_calls = 0
        self.best_state = None

    def step(self, val_loss, model):
        """Record one validation loss; True once it is time to stop."""
        val_loss = float(val_loss)
        if self.best - val_loss > self.min_delta:
            self.best = val_loss
            self.bad_calls = 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_calls += 1
        return self.bad_calls >= self.patience

    def restore(self, model):
        """Load the best weights seen so far back into model."""
        model.load_state_dict(self.best_state)
