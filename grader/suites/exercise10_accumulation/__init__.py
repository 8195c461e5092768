TITLE = "Gradient accumulation and online learning"
MODULE = "accumulation"
API = [
    "train_accumulated(model, loader, loss_fn, optimizer, accum_steps)",
    "online_step(model, x, y, loss_fn, optimizer)",
]
