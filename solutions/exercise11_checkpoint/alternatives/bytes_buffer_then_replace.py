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

import io


def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    buf = io.BytesIO()
    torch.save([model.state_dict(), optimizer.state_dict(),
                scheduler.state_dict() if scheduler is not None else None, {"epoch": epoch}], buf)
    tmp = f"{path}.{os.getpid()}.partial"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    with open(path, "rb") as f:
        raw = f.read()
    model_sd, optim_sd, sched_sd, meta = torch.load(io.BytesIO(raw), map_location=map_location,
                                                    weights_only=True)
    model.load_state_dict(model_sd)
    for obj, sd in ((optimizer, optim_sd), (scheduler, sched_sd)):
        if obj is not None and sd is not None:
            obj.load_state_dict(sd)
    return meta["epoch"]
