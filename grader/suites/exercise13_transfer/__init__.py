TITLE = "Transfer learning: freezing, a new head, fine-tuning"
MODULE = "transfer"
API = [
    "freeze(module)",
    "replace_head(model, num_classes)",
    "make_optimizer(model, lr)",
    "finetune_mode(model)",
]
