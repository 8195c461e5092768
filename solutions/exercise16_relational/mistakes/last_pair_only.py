# expect: rn_values, rn_any_number_of_objects, rn_order_invariance, rn_gradients
# may fail: rn_learns
# message: rn_values: last pair
# message: rn_any_number_of_objects: last pair
# message: rn_order_invariance: permuting
"""Reference solution: exercise16_relational.

A Relation Network: g applied to every ordered pair of objects (i == j included), the
results summed over the pairs, then f. The sum makes the output independent of the order
of the objects.
"""

import torch
from torch import nn


def all_pairs(objects):
    """objects (B, N, D) -> (B, N·N, 2D); pair (i, j) at index i·N + j holds concat(o_i, o_j)."""
    B, N, D = objects.shape
    first = objects.unsqueeze(2).expand(B, N, N, D)  # [b, i, j] = o_i
    second = objects.unsqueeze(1).expand(B, N, N, D)  # [b, i, j] = o_j
    return torch.cat([first, second], dim=-1).reshape(B, N * N, 2 * D)


class RelationNetwork(nn.Module):
    """f(sum over all pairs (i, j) of g(concat(o_i, o_j))): (B, N, obj_dim) -> (B, out_dim).

    Attributes: g, an MLP from 2 * obj_dim to hidden_dim features, and f, an MLP from
    hidden_dim to out_dim features.
    """

    def __init__(self, obj_dim, hidden_dim, out_dim):
        super().__init__()
        self.g = nn.Sequential(nn.Linear(2 * obj_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
        self.f = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, objects):
        relations = self.g(all_pairs(objects))  # (B, N·N, hidden_dim)
        return self.f(relations[:, -1])
