# expect: api, load_without_class
# message: api: ExportedProgram itself
# message: load_without_class: ExportedProgram itself
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
    torch.export.save(exported, path)


def load_exported(path):
    """Load a program saved by export_model; returns a callable: f(x) -> the model's eval-mode output.

    Loading needs neither the model's Python class nor its code.
    """
    return torch.export.load(path)
