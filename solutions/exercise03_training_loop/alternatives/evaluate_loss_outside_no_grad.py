"""A correct alternative: only the forward pass runs under torch.no_grad(); the loss of its graph-less output outside."""

import torch


def train_step(model, batch, loss_fn, optimizer):
    """One optimization step on batch = (inputs, targets); returns the loss as a Python float."""
    inputs, targets = batch
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
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        with torch.no_grad():
            outputs = model(inputs)
        total_loss += loss_fn(outputs, targets).item() * len(targets)
        correct += (outputs.argmax(dim=1) == targets).sum().item()
        count += len(targets)
    return total_loss / count, correct / count
