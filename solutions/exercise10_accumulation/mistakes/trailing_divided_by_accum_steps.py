# expect: trailing_group, momentum_trajectory
# message: trailing_group: instead of by its own size 2
# message: momentum_trajectory: instead of by its own size 1
"""Reference solution: exercise10_accumulation."""

import torch


def train_accumulated(model, loader, loss_fn, optimizer, accum_steps):
    """One optimizer step per group of accum_steps micro-batches; returns the number of steps."""
    n_batches = len(loader)
    steps = 0
    optimizer.zero_grad()
    for i, (inputs, targets) in enumerate(loader):
        group_start = i - i % accum_steps
        group_size = min(accum_steps, n_batches - group_start)  # the trailing group may be shorter
        loss = loss_fn(model(inputs), targets) / accum_steps
        loss.backward()  # gradients add up in .grad until the step
        if i + 1 == group_start + group_size:
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
    return steps


def online_step(model, x, y, loss_fn, optimizer):
    """One update from one example x (features,) with target y (0-dim); returns the loss as a float."""
    optimizer.zero_grad()
    output = model(x.unsqueeze(0))  # (features,) -> a batch of one (1, features) -> (1, out)
    if y.is_floating_point():
        target = y.reshape(output.shape)  # regression: the target takes the output's shape (1, 1)
    else:
        target = y.unsqueeze(0)  # a class index: a batch of one target, shape (1,)
    loss = loss_fn(output, target)
    loss.backward()
    optimizer.step()
    return loss.item()
