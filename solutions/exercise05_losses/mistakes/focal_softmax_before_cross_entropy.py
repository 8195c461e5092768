# expect: focal_values, focal_gradients, focal_stable
# message: focal_values: softmax was applied to the logits before
"""A mistake: softmax applied to the logits before F.cross_entropy, which applies log_softmax itself."""

import torch
import torch.nn.functional as F
from torch import nn


class HuberLoss(nn.Module):
    """Mean Huber loss: 0.5·e² where |e| <= delta, delta·(|e| − delta/2) beyond."""

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = delta

    def forward(self, pred, target):
        err = (pred - target).abs()
        quadratic = 0.5 * err ** 2
        linear = self.delta * (err - 0.5 * self.delta)
        return torch.where(err <= self.delta, quadratic, linear).mean()


class FocalLoss(nn.Module):
    """Mean of -(1 - p_t)^gamma · log p_t, computed from log-probabilities (stable for huge logits)."""

    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        probs = F.softmax(logits, dim=1)
        log_p_t = -F.cross_entropy(probs, target, reduction="none")
        p_t = log_p_t.exp()
        return (-((1 - p_t) ** self.gamma) * log_p_t).mean()


def masked_mse(pred, target, mask):
    """Mean squared error over the positions where mask is True (0 when there are none)."""
    squared = torch.where(mask, (pred - target) ** 2, torch.zeros_like(pred))
    count = mask.sum().clamp_min(1)
    return squared.sum() / count
