"""Exercise 16: relation networks.

Read README.md first; run `grade exercise16` to grade.

A Relation Network applies one function g to every ordered pair of objects, sums the
results over the pairs, and maps the sum with a second function f:
    RN(O) = f( sum over all (i, j) of g(concat(o_i, o_j)) )
"""

import torch
from torch import nn


def all_pairs(objects):
    """objects (B, N, D) -> (B, N·N, 2D); pair (i, j) at index i·N + j holds concat(o_i, o_j)."""
    # TODO: build, for every batch element, all N·N ordered pairs (i == j included):
    # the first D features are object i, the last D object j, with i = index // N, j = index % N.
    # Hint: unsqueeze + expand (or repeat_interleave / repeat), then torch.cat and reshape.
    # Keep the dtype and device of `objects`, and keep gradients flowing back to it.
    raise NotImplementedError("TODO: all_pairs")


class RelationNetwork(nn.Module):
    """f(sum over all pairs (i, j) of g(concat(o_i, o_j))): (B, N, obj_dim) -> (B, out_dim).

    Attributes: g, an MLP from 2 * obj_dim to hidden_dim features, and f, an MLP from
    hidden_dim to out_dim features.
    """

    def __init__(self, obj_dim, hidden_dim, out_dim):
        super().__init__()
        # TODO: create self.g (2 * obj_dim -> hidden_dim) and self.f (hidden_dim -> out_dim),
        # each an MLP: linear layers with a nonlinearity (e.g. nn.ReLU) between them.
        raise NotImplementedError("TODO: RelationNetwork.__init__")

    def forward(self, objects):
        """objects (B, N, obj_dim), any N -> (B, out_dim)."""
        # TODO: g on all_pairs(objects) -> (B, N·N, hidden_dim); sum over the pairs; f.
        raise NotImplementedError("TODO: RelationNetwork.forward")
