TITLE = "Devices and device-agnostic code"
MODULE = "devices"
API = [
    "pick_device(prefer=None)",
    "move_to(obj, device)",
    "train_step(model, batch, loss_fn, optimizer, device)",
]
