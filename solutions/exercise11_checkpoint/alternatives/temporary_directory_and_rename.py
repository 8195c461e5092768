"""Reference solution: exercise11_checkpoint."""

import os
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
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
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

def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    payload = dict(epoch=epoch, weights=model.state_dict(), adam=optimizer.state_dict())
    if scheduler is not None:
        payload["lr_schedule"] = scheduler.state_dict()
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as scratch:
        partial = os.path.join(scratch, "checkpoint")
        torch.save(payload, partial)
        os.rename(partial, path)


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    payload = torch.serialization.load(path, map_location=map_location, weights_only=True)
    missing, unexpected = model.load_state_dict(payload["weights"])
    assert not missing and not unexpected
    if optimizer is not None:
        optimizer.load_state_dict(payload["adam"])
    if scheduler is not None and "lr_schedule" in payload:
        scheduler.load_state_dict(payload["lr_schedule"])
    return int(payload["epoch"])
