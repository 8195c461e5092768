"""Public checks for exercise16. Run: pytest exercises/exercise16_relational  (then: grade exercise16)"""

import torch

from relational import RelationNetwork, all_pairs


def test_all_pairs_order():
    objects = torch.tensor([[[1.0], [2.0]]])  # B=1, N=2, D=1
    pairs = all_pairs(objects)
    assert pairs.shape == (1, 4, 2)
    # index i·N + j holds concat(o_i, o_j)
    assert pairs[0].tolist() == [[1.0, 1.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0]]


def test_output_shape_for_any_number_of_objects():
    torch.manual_seed(0)
    net = RelationNetwork(3, 16, 2)
    for B, N in ((4, 5), (1, 2), (2, 1)):
        assert net(torch.randn(B, N, 3)).shape == (B, 2)


def test_order_of_objects_does_not_matter():
    torch.manual_seed(0)
    net = RelationNetwork(3, 16, 2)
    objects = torch.randn(2, 6, 3)
    permuted = objects[:, torch.randperm(6)]
    torch.testing.assert_close(net(permuted), net(objects))
