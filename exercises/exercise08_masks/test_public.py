"""Public checks for exercise08. Run: pytest exercises/exercise08_masks  (then: grade exercise08)"""

import torch

from masks import SequenceClassifier, causal_mask, masked_mean, padding_mask


def test_padding_mask_marks_padding():
    mask = padding_mask(torch.tensor([2, 3]))
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[False, False, True], [False, False, False]]


def test_causal_mask_hides_the_future():
    assert causal_mask(3).tolist() == [[False, True, True], [False, False, True], [False, False, False]]


def test_masked_mean_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    torch.testing.assert_close(masked_mean(x, torch.tensor([[False, False, True]])), torch.tensor([[2.0]]))


def test_classifier_ignores_appended_padding():
    torch.manual_seed(0)
    model = SequenceClassifier(vocab_size=10, d_model=8, n_heads=2, num_classes=3)
    tokens = torch.tensor([[4, 5, 6, 0], [7, 8, 0, 0]])
    longer = torch.cat([tokens, torch.zeros(2, 2, dtype=torch.long)], dim=1)
    logits = model(tokens)
    assert logits.shape == (2, 3)
    torch.testing.assert_close(model(longer), logits, atol=1e-5, rtol=1e-4)
