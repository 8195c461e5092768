"""Exercise 10: gradient accumulation and online learning.

Fill in the two functions below. Read README.md first; run `grade exercise10` to grade.
"""

import torch


def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    """Train over loader with gradient accumulation; returns the number of optimizer steps (an int).

    loader yields (inputs, targets) micro-batches of equal size; len(loader) is their number.
    Each group of accum_steps consecutive micro-batches gives ONE optimizer step whose update
    equals that of a single batch concatenating the group (loss_fn has mean reduction). A
    trailing shorter group (when len(loader) is not a multiple of accum_steps) is stepped too,
    scaled by its own size.
    """
    # TODO: for each micro-batch: loss = loss_fn(model(inputs), targets), scaled so that the
    #       group's gradients add up to those of the concatenated batch; loss.backward().
    #       At the end of each group (and of a shorter trailing group): optimizer.step(),
    #       then clear the gradients for the next group. Count the steps and return the count.
    raise NotImplementedError("TODO: train_accumulated")


def online_step(model, x, y, loss_fn, optimizer):
    """One update from one example: x of shape (features,), target y a 0-dim tensor.

    Adds the batch dimension for the model and matches the prediction to the target (no
    broadcasting), makes one optimization step on that example's loss, and returns the loss
    as a Python float. Works with nn.MSELoss (a model with one output, y a float) and with
    nn.CrossEntropyLoss (logits (1, C), y a long class index).
    """
    # TODO: clear the gradients; run the model on a batch of one; bring the prediction and the
    #       target to shapes loss_fn accepts without broadcasting; backward; step; return a float.
    raise NotImplementedError("TODO: online_step")
