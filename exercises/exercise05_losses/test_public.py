"""Public checks for exercise05. Run: pytest exercises/exercise05_losses  (then: grade exercise05)"""

import torch
import torch.nn.functional as F

from losses import FocalLoss, HuberLoss, masked_mse


def test_huber_matches_torch():
    pred = torch.tensor([0.0, 0.5, 3.0, -2.0])
    target = torch.zeros(4)
    for delta in (0.5, 1.0):
        torch.testing.assert_close(HuberLoss(delta=delta)(pred, target),
                                   F.huber_loss(pred, target, delta=delta))


def test_focal_with_gamma_zero_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    target = torch.tensor([0, 2])
    torch.testing.assert_close(FocalLoss(gamma=0.0)(logits, target), F.cross_entropy(logits, target))


def test_focal_is_finite_for_huge_logits():
    logits = torch.tensor([[1e4, -1e4, 0.0]], requires_grad=True)
    loss = FocalLoss()(logits, torch.tensor([1]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_masked_mse_divides_by_the_count_and_handles_no_position():
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    target = torch.zeros(4)
    mask = torch.tensor([True, False, True, False])
    torch.testing.assert_close(masked_mse(pred, target, mask), torch.tensor(5.0))
    empty = masked_mse(pred, target, torch.zeros(4, dtype=torch.bool))
    empty.backward()
    assert empty.shape == () and empty.item() == 0 and (pred.grad == 0).all()
