"""exercise11_checkpoint: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

ATOMIC_WRITE = '''    folder = os.path.dirname(os.path.abspath(path))
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
'''
TORCH_LOAD = "    checkpoint = torch.load(path, map_location=map_location, weights_only=True)\n"
MODEL_STATE = '        "model": model.state_dict(),\n'
OPTIMIZER_STATE = '        "optimizer": optimizer.state_dict(),\n'
SCHEDULER_STATE = '        "scheduler": None if scheduler is None else scheduler.state_dict(),\n'
LOAD_MODEL = '    model.load_state_dict(checkpoint["model"])\n'
LOAD_OPTIMIZER = '    if optimizer is not None:\n        optimizer.load_state_dict(checkpoint["optimizer"])\n'
LOAD_SCHEDULER = ('    if scheduler is not None and checkpoint["scheduler"] is not None:\n'
                  '        scheduler.load_state_dict(checkpoint["scheduler"])\n')
RETURN_EPOCH = '    return checkpoint["epoch"]'
NO_ADAM_STATE = "optimizer had no state"
NOT_IMPLEMENTED = "not implemented"

MISTAKES = {
    # ---- atomic writes ----
    "writes_straight_to_path": (
        [(ATOMIC_WRITE, "    torch.save(checkpoint, path)\n")],
        {"atomic_save": "half-written file"}),
    "opens_path_and_saves_into_it": (
        [(ATOMIC_WRITE, '    with open(path, "wb") as f:\n        torch.save(checkpoint, f)\n')],
        {"atomic_save": "torch.save raised after writing half"}),
    "bytes_buffer_then_written_to_path": (
        [(ATOMIC_WRITE, "    buf = io.BytesIO()\n    torch.save(checkpoint, buf)\n"
                        '    with open(path, "wb") as f:\n        f.write(buf.getvalue())\n'),
         ("import os\n", "import io\nimport os\n")],
        {"atomic_save": "the disk filled up"}),
    "deletes_the_older_checkpoint_first": (
        [("    try:\n        with os.fdopen(fd",
          "    if os.path.exists(path):\n        os.remove(path)\n    try:\n        with os.fdopen(fd")],
        {"atomic_save": "older checkpoint at path was gone"}),
    "temporary_file_copied_onto_path": (
        [(ATOMIC_WRITE, '    tmp_path = path + ".tmp"\n    torch.save(checkpoint, tmp_path)\n'
                        "    shutil.copyfile(tmp_path, path)\n    os.remove(tmp_path)\n"),
         ("import os\n", "import os\nimport shutil\n")],
        {"atomic_save": "the disk filled up"}),
    "temporary_file_left_behind": (
        [(ATOMIC_WRITE, '    tmp_path = path + ".tmp"\n    torch.save(checkpoint, tmp_path)\n'
                        "    shutil.copyfile(tmp_path, path)\n"),
         ("import os\n", "import os\nimport shutil\n")],
        {"one_file_weights_only": "more file(s) beside the checkpoint", "atomic_save": "the disk filled up"}),
    "optimizer_in_a_second_file": (
        [(OPTIMIZER_STATE, ""),
         ("        os.replace(tmp_path, path)\n",
          '        os.replace(tmp_path, path)\n        torch.save(optimizer.state_dict(), path + ".optim")\n'),
         ('        optimizer.load_state_dict(checkpoint["optimizer"])\n',
          '        optimizer.load_state_dict(torch.load(path + ".optim", map_location=map_location,'
          ' weights_only=True))\n')],
        {"one_file_weights_only": "more file(s) beside the checkpoint"}),
    # ---- what the file holds ----
    "saves_the_model_object": (
        [(MODEL_STATE, '        "model": model,\n'),
         (TORCH_LOAD, "    checkpoint = torch.load(path, map_location=map_location, weights_only=False)\n"),
         (LOAD_MODEL, '    model.load_state_dict(checkpoint["model"].state_dict())\n')],
        {"one_file_weights_only": "does not load with torch.load(path, weights_only=true)"}),
    "parameters_without_buffers": (
        [(MODEL_STATE, '        "model": dict(model.named_parameters()),\n'),
         (LOAD_MODEL, '    model.load_state_dict(checkpoint["model"], strict=False)\n')],
        {"one_file_weights_only": "buffers", "model_round_trip": "not the buffers",
         "resume_adam": "started from the wrong weights", "resume_scheduler": "started from the wrong weights"}),
    "optimizer_state_not_saved": (
        [(OPTIMIZER_STATE, ""),
         ("    if optimizer is not None:\n", '    if optimizer is not None and "optimizer" in checkpoint:\n')],
        {"one_file_weights_only": "optimizer's state", "resume_adam": NO_ADAM_STATE,
         "resume_scheduler": NO_ADAM_STATE}),
    "scheduler_state_not_saved": (
        [(SCHEDULER_STATE, '        "scheduler": None,\n')],
        {"resume_scheduler": "last_epoch"}),
    "scheduler_state_saved_even_without_one": (
        [(SCHEDULER_STATE, '        "scheduler": scheduler.state_dict(),\n')],
        {"resume_adam": "without a scheduler (scheduler=none)"}),
    "epoch_not_saved": (
        [('        "epoch": epoch,\n', ""), (RETURN_EPOCH, '    return checkpoint.get("epoch", 0)')],
        {"returns_epoch": "returned 0, 0"}),
    "epoch_saved_as_tensor": (
        [('        "epoch": epoch,\n', '        "epoch": torch.tensor(epoch),\n')],
        {"api": "as a tensor"}),
    # ---- loading ----
    "optimizer_not_loaded": (
        [(LOAD_OPTIMIZER, "")],
        {"resume_adam": NO_ADAM_STATE, "resume_scheduler": NO_ADAM_STATE}),
    "scheduler_not_loaded": (
        [(LOAD_SCHEDULER, "")],
        {"resume_scheduler": "last_epoch"}),
    "scheduler_stepped_after_loading": (
        [('        scheduler.load_state_dict(checkpoint["scheduler"])\n',
          '        scheduler.load_state_dict(checkpoint["scheduler"])\n        scheduler.step()\n')],
        {"resume_scheduler": "stepped the lr scheduler once more"}),
    "optimizer_loaded_even_when_none": (
        [(LOAD_OPTIMIZER, '    optimizer.load_state_dict(checkpoint["optimizer"])\n')],
        {"model_round_trip": "only when they are given"}),
    "scheduler_loaded_even_when_none": (
        [(LOAD_SCHEDULER, '    if checkpoint["scheduler"] is not None:\n'
                          '        scheduler.load_state_dict(checkpoint["scheduler"])\n')],
        {"model_round_trip": "only when they are given"}),
    "whole_checkpoint_loaded_into_model_non_strict": (
        [(LOAD_MODEL, "    model.load_state_dict(checkpoint, strict=False)\n")],
        {"model_round_trip": "initial weights", "resume_adam": "does not hold the saved state",
         "resume_scheduler": "does not hold the saved state"}),
    "model_loaded_into_a_new_model": (
        [(LOAD_MODEL, "    model = copy.deepcopy(model)\n" + LOAD_MODEL), ("import os\n", "import copy\nimport os\n")],
        {"model_round_trip": "initial weights", "resume_adam": "does not hold the saved state",
         "resume_scheduler": "does not hold the saved state"}),
    "returns_the_next_epoch": (
        [(RETURN_EPOCH, '    return checkpoint["epoch"] + 1')],
        {"returns_epoch": "epoch + 1"}),
    "returns_nothing": (
        [(RETURN_EPOCH, "    return")],
        {"api": "returned None", "returns_epoch": "none"}),
    "map_location_ignored": (
        [(TORCH_LOAD, "    checkpoint = torch.load(path, weights_only=True)\n")],
        {"map_location": "saved on another device"}),
    "map_location_hard_coded_cpu": (
        [(TORCH_LOAD, '    checkpoint = torch.load(path, map_location="cpu", weights_only=True)\n')],
        {"map_location": "onto cpu"}),
    "map_location_default_none": (
        [('map_location="cpu"):', "map_location=None):")],
        {"map_location": "left at its default"}),
    "map_location_renamed": (
        [('map_location="cpu"):', 'device="cpu"):'), ("map_location=map_location", "map_location=device")],
        {"api": "does not match", "map_location": "unexpected keyword"}),
    "save_not_implemented": (
        [("    checkpoint = {\n", "    raise NotImplementedError('TODO')\n    checkpoint = {\n")],
        {"api": NOT_IMPLEMENTED, "one_file_weights_only": NOT_IMPLEMENTED, "model_round_trip": NOT_IMPLEMENTED,
         "returns_epoch": NOT_IMPLEMENTED, "resume_adam": NOT_IMPLEMENTED, "resume_scheduler": NOT_IMPLEMENTED,
         "map_location": NOT_IMPLEMENTED, "atomic_save": NOT_IMPLEMENTED}),
}

ALTERNATIVES = {
    "named_temporary_file_and_file_objects": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    state = {"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
             "epoch": torch.tensor(epoch)}
    if scheduler is not None:
        state["scheduler_state_dict"] = scheduler.state_dict()
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(path) or ".", delete=False) as tmp:
        try:
            torch.save(state, tmp)
        except Exception:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    with open(path, "rb") as f:
        state = torch.load(f, map_location=torch.device(map_location), weights_only=True)
    model.load_state_dict(state["model_state_dict"])
    if optimizer:
        optimizer.load_state_dict(state["optimizer_state_dict"])
    if scheduler and "scheduler_state_dict" in state:
        scheduler.load_state_dict(state["scheduler_state_dict"])
    return int(state["epoch"])
''',
    "dot_tmp_path_with_pathlib": '''
from pathlib import Path


def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    torch.save({"epoch": epoch, "model": model.state_dict(), "optim": optimizer.state_dict(),
                **({"sched": scheduler.state_dict()} if scheduler else {})}, tmp)
    tmp.replace(target)


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu"):
    ckpt = torch.load(Path(path), map_location=map_location, weights_only=True)
    model.load_state_dict(ckpt["model"], strict=True)
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optim"])
    if scheduler is not None:
        scheduler.load_state_dict(ckpt.get("sched", scheduler.state_dict()))
    return ckpt["epoch"]
''',
    "bytes_buffer_then_replace": '''
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
''',
    "temporary_directory_and_rename": '''
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
''',
}
