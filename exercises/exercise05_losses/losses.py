"""Exercise 05: custom loss functions.

Fill in the classes and the function below. Read README.md first; run `grade exercise05` to grade.
"""

import torch
import torch.nn.functional as F
from torch import nn


class HuberLoss(nn.Module):
    """Mean Huber loss, equal to F.huber_loss(pred, target, delta=delta).

    With e = pred - target, each element contributes 0.5·e² where |e| <= delta and
    delta·(|e| − delta/2) elsewhere; forward returns the mean over all elements.
    """

    def __init__(self, delta=1.0):
        super().__init__()
        # TODO: keep delta.
        raise NotImplementedError("TODO: HuberLoss.__init__")

    def forward(self, pred, target):
        # TODO: the two branches, chosen per element (torch.where), then the mean.
        raise NotImplementedError("TODO: HuberLoss.forward")


class FocalLoss(nn.Module):
    """Mean focal loss: mean over the batch of -(1 - p_t)^gamma · log p_t.

    logits (N, C), target (N,) long; p_t is the softmax probability of the target class.
    gamma = 0 gives cross-entropy. Loss and gradients stay finite for logits of magnitude 1e4.
    """

    def __init__(self, gamma=2.0):
        super().__init__()
        # TODO: keep gamma.
        raise NotImplementedError("TODO: FocalLoss.__init__")

    def forward(self, logits, target):
        # TODO: log p_t from F.log_softmax (never log(softmax)), p_t = exp(log p_t), then the mean.
        raise NotImplementedError("TODO: FocalLoss.forward")


def masked_mse(pred, target, mask):
    """Mean squared error over the positions where mask (bool, same shape) is True.

    Divides by the number of True positions, not by numel. With no True position it
    returns a 0-dim tensor equal to 0 whose gradients are zero (no NaN).
    """
    # TODO: zero out the positions where mask is False, sum, divide by the count (clamped at 1).
    raise NotImplementedError("TODO: masked_mse")
