"""A correct alternative: namedtuples rebuilt with _replace, field by field."""

import torch


def pick_device(prefer=None):
    """The device to run on: `prefer` if given (ValueError if unavailable), else cuda, mps, cpu."""
    if prefer is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(prefer)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if device.index is None else device.index
        if index >= count:
            raise ValueError(f"{prefer!r} is not available (this machine has {count} cuda devices)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("mps is not available on this machine")
    elif device.type != "cpu":
        raise ValueError(f"unknown device {prefer!r}")
    return device


def move_to(obj, device):
    """obj with every tensor inside (dict, list, tuple, namedtuple) moved to device."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {key: move_to(value, device) for key, value in obj.items()}
    if isinstance(obj, list):
        return [move_to(item, device) for item in obj]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple: rebuild it field by field
        return obj._replace(**{name: move_to(getattr(obj, name), device) for name in obj._fields})
    if isinstance(obj, tuple):
        return tuple(move_to(item, device) for item in obj)
    return obj


def train_step(model, batch, loss_fn, optimizer, device):
    """One optimization step on batch = (inputs, targets), moved to device; returns the loss detached."""
    inputs, targets = move_to(batch, device)
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.detach()
