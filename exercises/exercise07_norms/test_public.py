"""Public checks for exercise07. Run: pytest exercises/exercise07_norms  (then: grade exercise07)"""

import torch
from torch import nn

from norms import BatchNorm1d, LayerNorm


def test_batchnorm_matches_torch_in_train_and_eval():
    torch.manual_seed(0)
    mine, ref = BatchNorm1d(3), nn.BatchNorm1d(3)
    for _ in range(2):
        x = 2 + 3 * torch.randn(8, 3)
        torch.testing.assert_close(mine(x), ref(x))
    torch.testing.assert_close(mine.running_mean, ref.running_mean)
    torch.testing.assert_close(mine.running_var, ref.running_var)
    mine.eval(), ref.eval()
    x = torch.randn(4, 3)
    torch.testing.assert_close(mine(x), ref(x))


def test_batchnorm_state_dict_names():
    assert {"weight", "bias", "running_mean", "running_var"} <= set(BatchNorm1d(2).state_dict())


def test_layernorm_matches_torch():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4)
    for shape in (4, (3, 4)):
        torch.testing.assert_close(LayerNorm(shape)(x), nn.LayerNorm(shape)(x))
