TITLE = "The training loop"
MODULE = "training_loop"
API = [
    "train_step(model, batch, loss_fn, optimizer)",
    'train_epoch(model, loader, loss_fn, optimizer, device="cpu")',
    'evaluate(model, loader, loss_fn, device="cpu")',
]
