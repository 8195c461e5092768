# expect: masked_mse_gradients, masked_mse_empty, device
# message: masked_mse_gradients: re-wrapped with torch.tensor
# message: masked_mse_empty: not connected
"""Reference solution: exercise05_losses."""

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
        log_p = F.log_softmax(logits, dim=1)
        log_p_t = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
        p_t = log_p_t.exp()
        return (-((1 - p_t) ** self.gamma) * log_p_t).mean()


def masked_mse(pred, target, mask):
    """Mean squared error over the positions where mask is True (0 when there are none)."""
    squared = torch.where(mask, (pred - target) ** 2, torch.zeros_like(pred))
    count = mask.sum().clamp_min(1)
    return torch.tensor((squared.sum() / count).item(), requires_grad=True)
