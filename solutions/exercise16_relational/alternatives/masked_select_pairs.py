"""A correct alternative: the pairs picked with masked_select and a mask of all True made on
the objects' device (masked_select has no meta kernel: the device check must still pass)."""

import torch
from torch import nn


def all_pairs(objects):
    """objects (B, N, D) -> (B, N·N, 2D); pair (i, j) at index i·N + j holds concat(o_i, o_j)."""
    B, N, D = objects.shape
    keep = torch.ones(B, N, N, 1, dtype=torch.bool, device=objects.device)
    first = objects.unsqueeze(2).expand(B, N, N, D).masked_select(keep).reshape(B, N * N, D)
    second = objects.unsqueeze(1).expand(B, N, N, D).masked_select(keep).reshape(B, N * N, D)
    return torch.cat([first, second], dim=-1)


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
        return self.f(relations.sum(dim=1))
