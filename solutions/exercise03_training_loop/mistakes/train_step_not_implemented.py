# expect: api, returns_floats, train_step_gradients, train_step_loss, train_epoch_values, train_epoch_train_mode, train_epoch_device, train_step_device, loss_decrease
# message: api: not implemented
# message: returns_floats: not implemented
# message: train_step_gradients: not implemented
# message: train_step_loss: not implemented
# message: train_epoch_values: not implemented
# message: train_epoch_train_mode: not implemented
# message: train_epoch_device: not implemented
# message: loss_decrease: not implemented
# message: train_step_device: not implemented
"""Reference solution: exercise03_training_loop."""

import torch


def train_step(model, batch, loss_fn, optimizer):
    """One optimization step on batch = (inputs, targets); returns the loss as a Python float."""
    raise NotImplementedError('TODO')
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
