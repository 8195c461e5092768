# expect: atomic_save
# message: atomic_save: another folder
"""A mistake: the temporary file is written in the system's temporary folder and moved onto path."""

import os
import shutil
import tempfile

import torch


def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    """Write the model's, optimizer's (and scheduler's) state_dicts and the epoch to path, atomically."""
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "epoch": epoch,
    }
    fd, tmp_path = tempfile.mkstemp(prefix="checkpoint-", suffix=".tmp")  # in the system's temporary folder
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        shutil.move(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    """Restore what save_checkpoint wrote into the objects given; returns the saved epoch."""
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    if optimizer is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint["scheduler"] is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["epoch"]
