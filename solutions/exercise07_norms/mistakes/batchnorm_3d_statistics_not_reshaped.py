# expect: bn_3d, bn_gradients
# message: bn_3d: reshape them to (1, C, 1)
"""A mistake: for (N, C, L) input the per-channel statistics are not reshaped to (1, C, 1), so they broadcast against L."""

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
        dims = [0] if x.dim() == 2 else [0, 2]  # every dim but the channel dim 1
        shape = [1, -1] + [1] * (x.dim() - 2)  # broadcast per-channel values over x
        if self.training:
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * n / (n - 1), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return x_hat * self.weight + self.bias


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
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
