# expect: export_file, export_eval_outputs, api, load_without_class
# message: export_file: written with torch.save
# message: export_eval_outputs: could not be checked
# message: api: torch.export.load(path)
# message: load_without_class: torch.load cannot read
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
    torch.save(model, path)


def load_exported(path):
    """Load a program saved by export_model; returns a callable: f(x) -> the model's eval-mode output.

    Loading needs neither the model's Python class nor its code.
    """
    return torch.load(path, weights_only=False)
