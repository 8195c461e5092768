TITLE = "Checkpoints and resuming training"
MODULE = "checkpoint"
API = [
    "save_checkpoint(path, model, optimizer, epoch, scheduler=None)",
    'load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu")',
]
