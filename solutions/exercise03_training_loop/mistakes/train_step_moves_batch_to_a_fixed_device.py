# expect: train_step_device, train_epoch_device
# message: train_step_device: never move it to a fixed one
"""A mistake: train_step moves the batch to a device chosen once at import (cuda if any, else cpu)."""

import torch

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_step(model, batch, loss_fn, optimizer):
    """One optimization step on batch = (inputs, targets); returns the loss as a Python float."""
    inputs, targets = (t.to(DEVICE) for t in batch)
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_epoch(model, loader, loss_fn, optimizer, device="cpu"):
    """One pass over loader in train mode, one step per batch; returns the mean per-batch loss."""
    model.train()
    losses = []
    for inputs, targets in loader:
        batch = (inputs.to(device), targets.to(device))
        losses.append(train_step(model, batch, loss_fn, optimizer))
    return sum(losses) / len(losses)


def evaluate(model, loader, loss_fn, device="cpu"):
    """(loss averaged over samples, accuracy) in eval mode without a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    return total_loss / count, correct / count
