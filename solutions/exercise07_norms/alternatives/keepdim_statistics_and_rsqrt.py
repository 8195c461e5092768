"""A correct alternative: keepdim statistics viewed as (1, C, 1) for 3-D input, and rsqrt(var + eps)."""

import torch
from torch import nn


class BatchNorm1d(nn.Module):
    """Batch normalization over (N, C) or (N, C, L) inputs, written from scratch.

    Train mode: normalize with the batch statistics (biased variance) and update the
    running statistics with `momentum` (running = (1 - momentum) * running + momentum *
    batch, with the unbiased batch variance). Eval mode: normalize with the running
    statistics.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = (0,) if x.dim() == 2 else (0, 2)
        view = (1, -1) if x.dim() == 2 else (1, -1, 1)
        if self.training:
            mean = x.mean(dim=dims, keepdim=True)
            centred = x - mean
            var = (centred * centred).mean(dim=dims, keepdim=True)
            n = x.numel() / x.size(1)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean.flatten())
                self.running_var.mul_(1 - m).add_(m * var.flatten() * n / (n - 1))
        else:
            centred = x - self.running_mean.view(view)
            var = self.running_var.view(view)
        return centred * torch.rsqrt(var + self.eps) * self.weight.view(view) + self.bias.view(view)


class LayerNorm(nn.Module):
    """Layer normalization of each sample over its last len(normalized_shape) dims."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape))
        self.bias = nn.Parameter(torch.zeros(self.normalized_shape))

    def forward(self, x):
        dims = tuple(range(-len(self.normalized_shape), 0))
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, unbiased=False, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
