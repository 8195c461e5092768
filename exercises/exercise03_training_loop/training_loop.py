"""Exercise 03: the training loop.

Fill in the three functions below. Read README.md first; run `grade exercise03` to grade.
"""

import torch


def train_step(model, batch, loss_fn, optimizer):
    """One optimization step on batch = (inputs, targets).

    Forward, loss, backward, optimizer step, with the gradients cleared once per step
    (zero_grad first, or after the step; never between backward and step). Returns the
    loss as a Python float.
    """
    # TODO: unpack the batch; zero_grad; loss = loss_fn(model(inputs), targets);
    #       loss.backward(); optimizer.step(); return loss.item().
    raise NotImplementedError("TODO: train_step")


def train_epoch(model, loader, loss_fn, optimizer, device="cpu"):
    """One pass over loader: model in train mode, every batch moved to device, one step per batch.

    Returns the mean of the per-batch losses (a Python float).
    """
    # TODO: model.train(); for each (inputs, targets) in loader: move both to device,
    #       call train_step, keep the loss; return the mean.
    raise NotImplementedError("TODO: train_epoch")


def evaluate(model, loader, loss_fn, device="cpu"):
    """Evaluate in eval mode without recording a graph.

    Returns (loss, accuracy), both Python floats: loss is averaged over samples (each
    batch's mean loss weighted by its size); accuracy is the fraction of samples whose
    argmax over dim 1 equals the target.
    """
    # TODO: model.eval(); inside torch.no_grad(): for each batch move it to device,
    #       accumulate loss * batch size, the number of correct predictions and the count.
    raise NotImplementedError("TODO: evaluate")
