# expect: make_optimizer_settings
# may fail: finetune_head
# message: make_optimizer_settings: use the lr it is given
# message: finetune_head: did not lower the loss
"""Reference solution: exercise13_transfer."""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def freeze(module):
    """Stop training `module`: every one of its parameters (at every depth) gets requires_grad=False.

    Buffers (such as BatchNorm running statistics), the module's mode and the parameters of
    other modules are left as they are.
    """
    for param in module.parameters():
        param.requires_grad = False


def replace_head(model, num_classes):
    """Give `model` a new, trainable head: model.fc = nn.Linear(model.fc.in_features, num_classes).

    Returns `model` itself (the same object).
    """
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def make_optimizer(model, lr):
    """SGD with momentum 0.9 and learning rate `lr` over the trainable parameters of `model` only."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(trainable, lr=0.01, momentum=0.9)


def finetune_mode(model):
    """Put `model` in train mode, except every BatchNorm layer whose parameters are all frozen,
    which stays in eval mode (so its running statistics do not move)."""
    model.train()
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not any(p.requires_grad for p in module.parameters()):
            module.eval()
