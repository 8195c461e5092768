"""Exercise 18: exporting a model with torch.export.

Fill in the functions below. Read README.md first; run `grade exercise18` to grade.
"""

import torch


def export_model(model, example_input, path):
    """Export `model` in eval mode with torch.export and save the program to `path` (a .pt2 file).

    `example_input` is one tensor of the shape the exported model will be called with.
    Afterwards the model is back in the mode (train or eval) it was in before the call.
    """
    # TODO: remember model.training and switch to eval mode; export with
    # torch.export.export(model, (example_input,))  -- the example inputs go in a TUPLE;
    # restore the mode (even if the export raises: try/finally); save with torch.export.save.
    raise NotImplementedError("TODO: export_model")


def load_exported(path):
    """Load a program saved by export_model; returns a callable: f(x) -> the model's eval-mode output.

    Loading needs neither the model's Python class nor its code.
    """
    # TODO: torch.export.load(path) gives an ExportedProgram, which cannot be called itself;
    # return its .module().
    raise NotImplementedError("TODO: load_exported")
