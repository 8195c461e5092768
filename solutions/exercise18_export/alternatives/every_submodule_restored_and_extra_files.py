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
    return torch.export.load(path).module()

import contextlib
import json


@contextlib.contextmanager
def _evaluating(model):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


def export_model(model, example_input, path):
    with _evaluating(model):
        program = torch.export.export(model, tuple([example_input]))
    meta = {"input_shape": list(example_input.shape)}
    torch.export.save(program, path, extra_files={"meta.json": json.dumps(meta)})


def load_exported(path):
    extra = {"meta.json": ""}
    program = torch.export.load(path, extra_files=extra)
    json.loads(extra["meta.json"])
    return program.module()
