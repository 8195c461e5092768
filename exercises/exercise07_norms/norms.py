"""Exercise 07: BatchNorm and LayerNorm from scratch.

Fill in the two classes below without torch's own norm layers (no F.batch_norm,
F.layer_norm, nn.BatchNorm*, nn.LayerNorm, ...). Read README.md first; run
`grade exercise07` to grade.
"""

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
        # TODO: parameters `weight` (ones) and `bias` (zeros) of shape (num_features,);
        # buffers `running_mean` (zeros) and `running_var` (ones) via self.register_buffer.
        raise NotImplementedError("TODO: BatchNorm1d.__init__")

    def forward(self, x):
        # TODO: statistics per channel (dim 1) over every other dim: dim 0 for (N, C),
        # dims 0 and 2 for (N, C, L). Train mode: batch mean and biased variance, and update
        # the running statistics under torch.no_grad(). Eval mode: the running statistics.
        raise NotImplementedError("TODO: BatchNorm1d.forward")


class LayerNorm(nn.Module):
    """Layer normalization of each sample over its last len(normalized_shape) dims."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        # TODO: accept an int or a tuple; parameters `weight` (ones) and `bias` (zeros) of
        # shape normalized_shape.
        raise NotImplementedError("TODO: LayerNorm.__init__")

    def forward(self, x):
        # TODO: mean and biased variance over the last len(normalized_shape) dims (keepdim),
        # then (x - mean) / sqrt(var + eps) * weight + bias.
        raise NotImplementedError("TODO: LayerNorm.forward")
