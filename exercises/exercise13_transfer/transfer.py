"""Exercise 13: transfer learning — freezing a pretrained backbone, a new head, fine-tuning.

Fill in the functions below. Read README.md first; run `grade exercise13` to grade.
The shipped pretrained model is in pretrained.py (`load_pretrained()`); use it in your own
experiments, but do not import it here: your functions must work on any model with a
`features` backbone and an `fc` head.
"""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def freeze(module):
    """Stop training `module`: every one of its parameters (at every depth) gets requires_grad=False.

    Buffers (such as BatchNorm running statistics), the module's mode and the parameters of
    other modules are left as they are.
    """
    # TODO: go through module.parameters() (it already descends into nested blocks) and set
    # requires_grad to False. model.eval(), torch.no_grad() or .grad = None do not freeze.
    raise NotImplementedError("TODO: freeze")


def replace_head(model, num_classes):
    """Give `model` a new, trainable head: model.fc = nn.Linear(model.fc.in_features, num_classes).

    Returns `model` itself (the same object).
    """
    # TODO: read the old head's in_features, assign a new nn.Linear to model.fc, return model.
    raise NotImplementedError("TODO: replace_head")


def make_optimizer(model, lr):
    """SGD with momentum 0.9 and learning rate `lr` over the trainable parameters of `model` only."""
    # TODO: keep the parameters with requires_grad=True (backbone layers that still train
    # included), then torch.optim.SGD(..., lr=lr, momentum=0.9).
    raise NotImplementedError("TODO: make_optimizer")


def finetune_mode(model):
    """Put `model` in train mode, except every BatchNorm layer whose parameters are all frozen,
    which stays in eval mode (so its running statistics do not move)."""
    # TODO: model.train() first; then, for every module at every depth (model.modules()) that is
    # a BatchNorm layer (_BatchNorm) with no parameter requiring grad, call .eval() on it.
    raise NotImplementedError("TODO: finetune_mode")
