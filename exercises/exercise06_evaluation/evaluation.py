"""Exercise 06: evaluation, modes and early stopping.

Fill in the functions and the class below. Read README.md first; run `grade exercise06` to grade.
"""

import copy

import torch


def predict(model, loader, device="cpu"):
    """Argmax class of every sample (1-D long, in loader order), in eval mode without a graph.

    The loader yields (inputs, targets) batches; the targets are not used. Afterwards the
    model is back in the mode (train or eval) it was in before the call.
    """
    # TODO: remember model.training, switch to eval, loop under torch.no_grad() moving each
    # batch to device, argmax over dim 1, torch.cat the batches, restore the mode.
    raise NotImplementedError("TODO: predict")


def classification_report(preds, targets):
    """Accuracy and macro precision, recall and F1 over the classes present in preds or targets.

    A 0/0 counts as 0 (as scikit-learn with zero_division=0).
    """
    # TODO: per class c in the union of preds and targets count TP, predicted-as-c and
    # actually-c; precision, recall and F1 per class; return a dict of Python floats.
    raise NotImplementedError("TODO: classification_report")


class EarlyStopping:
    """Signals a stop after `patience` calls in a row without an improvement of more than min_delta."""

    def __init__(self, patience, min_delta=0.0):
        # TODO: store the settings; keep the best loss so far, a counter and the best weights.
        raise NotImplementedError("TODO: EarlyStopping.__init__")

    def step(self, val_loss, model):
        """Record one validation loss; True once it is time to stop."""
        # TODO: an improvement is best - val_loss > min_delta: save a COPY of the weights
        # (state_dict() shares memory with the parameters) and reset the counter.
        raise NotImplementedError("TODO: EarlyStopping.step")

    def restore(self, model):
        """Load the best weights seen so far back into model."""
        # TODO: model.load_state_dict(...)
        raise NotImplementedError("TODO: EarlyStopping.restore")
