TITLE = "Custom loss functions"
MODULE = "losses"
API = [
    "class HuberLoss(delta=1.0)",
    "class FocalLoss(gamma=2.0)",
    "masked_mse(pred, target, mask)",
]
