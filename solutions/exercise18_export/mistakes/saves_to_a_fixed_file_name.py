# expect: export_file, export_eval_outputs
# message: export_file: wrote model.pt2 instead
# message: export_eval_outputs: did not save a file
"""Reference solution: exercise18_export."""

import torch


def export_model(model, example_input, path):
    """Export `model` in eval mode with torch.export and save the program to `path` (a .pt2 file).

    `example_input` is one tensor of the shape the exported model will be called with.
    Afterwards the model is back in the mode (train or eval) it was in before the call.
    """
    was_training = model.training
    model.eval()
    try:
        exported = torch.export.export(model, (example_input,))
    finally:
        model.train(was_training)
    torch.export.save(exported, "model.pt2")


def load_exported(path):
    """Load a program saved by export_model; returns a callable: f(x) -> the model's eval-mode output.

    Loading needs neither the model's Python class nor its code.
    """
    return torch.export.load(path).module()
