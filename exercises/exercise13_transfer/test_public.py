"""Public checks for exercise13. Run: pytest exercises/exercise13_transfer  (then: grade exercise13)"""

import torch
from torch import nn

from pretrained import load_pretrained
from transfer import finetune_mode, freeze, make_optimizer, replace_head


def test_freeze_the_backbone():
    model = load_pretrained()
    freeze(model.features)
    assert not any(p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.fc.parameters())   # the head was not given to freeze


def test_new_head_is_trainable_and_returned():
    model = load_pretrained()
    freeze(model)                                  # everything, the old head included
    assert replace_head(model, 5) is model
    assert isinstance(model.fc, nn.Linear)
    assert (model.fc.in_features, model.fc.out_features) == (16, 5)
    assert all(p.requires_grad for p in model.fc.parameters())
    assert model(torch.randn(2, 4)).shape == (2, 5)


def test_optimizer_over_the_trainable_parameters():
    model = load_pretrained()
    freeze(model.features)
    replace_head(model, 2)
    optimizer = make_optimizer(model, lr=0.01)
    assert isinstance(optimizer, torch.optim.SGD)
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(model.fc.weight), id(model.fc.bias)}
    assert optimizer.param_groups[0]["momentum"] == 0.9


def test_frozen_batchnorm_keeps_its_statistics():
    model = load_pretrained()
    freeze(model.features)
    model.eval()
    finetune_mode(model)
    assert model.training and model.fc.training
    bn = model.features[1]                         # a frozen BatchNorm1d
    assert not bn.training
    stats = bn.running_mean.clone()
    model(torch.randn(8, 4) * 3 + 1)               # a forward pass while fine-tuning
    assert torch.equal(bn.running_mean, stats)
