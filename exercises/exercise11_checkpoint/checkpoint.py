"""Exercise 11: checkpoints and resuming training.

Fill in the two functions below. Read README.md first; run `grade exercise11` to grade.
"""

import os
import tempfile

import torch


def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    """Save everything needed to resume training to ONE file at path.

    The file holds the state_dicts of model and optimizer (and of scheduler, when one is
    given) and the epoch, and loads with `torch.load(path, weights_only=True)`. It is
    written atomically: if saving fails halfway, whatever was at path before (an older
    checkpoint) is still there, intact; path never holds a half-written file.
    """
    # TODO: collect model.state_dict(), optimizer.state_dict(), the scheduler's
    #       state_dict (if there is a scheduler) and epoch in a dict of plain data.
    # TODO: write it to a temporary file in the same folder as path, then move that file
    #       onto path in one step (see README: "Why atomic writes").
    raise NotImplementedError("TODO: save_checkpoint")


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    """Restore a checkpoint written by save_checkpoint; returns the saved epoch.

    Loads the file with torch.load(path, map_location=map_location, weights_only=True)
    and restores the model, and the optimizer and scheduler when they are given (None:
    leave them out). Training resumed from here follows the same trajectory as training
    that never stopped.
    """
    # TODO: load the dict; model.load_state_dict(...); the optimizer's and scheduler's
    #       load_state_dict(...) only when they are not None; return the epoch.
    raise NotImplementedError("TODO: load_checkpoint")
