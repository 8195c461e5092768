"""Exercise 12: devices and device-agnostic code.

Fill in the three functions below. Read README.md first; run `grade exercise12` to grade.
"""

import torch


def pick_device(prefer=None):
    """The torch.device to run on.

    With `prefer` ("cpu", "cuda", "mps" or "cuda:N"): that device, or ValueError if it is
    not available on this machine. Without it: cuda if available, else mps if available,
    else cpu. Always returns a torch.device, never a string.
    """
    # TODO: ask torch what the machine has: torch.cuda.is_available(), torch.cuda.device_count(),
    #       torch.backends.mps.is_available(). torch.device(prefer) parses "cuda:1" for you
    #       (its .type is "cuda", its .index is 1, or None for plain "cuda").
    raise NotImplementedError("TODO: pick_device")


def move_to(obj, device):
    """obj with every tensor inside moved to device.

    Recurses through dict, list, tuple and namedtuple, keeping each container's type;
    any other value is returned as it is. The object given is left unchanged.
    """
    # TODO: a tensor -> obj.to(device); a dict / list / tuple -> a new one of the same kind
    #       with move_to applied to every item. A namedtuple is a tuple too (it has `_fields`),
    #       but its constructor wants the items as separate arguments.
    raise NotImplementedError("TODO: move_to")


def train_step(model, batch, loss_fn, optimizer, device):
    """One optimization step on batch = (inputs, targets); inputs and targets may be nested.

    The model is already on device. Moves the whole batch to device, then zero_grad,
    loss = loss_fn(model(inputs), targets), backward, step. Returns the loss detached
    (a tensor on device). Any tensor it creates is created on device.
    """
    # TODO: move the batch with move_to; one step in the usual order; return loss.detach()
    #       (no .item(): reading a value makes the CPU wait for the device).
    raise NotImplementedError("TODO: train_step")
