"""Probes for exercise18 (run in the worker on the submission; return plain data).

Each probe builds a small seeded model (Linear, BatchNorm1d with non-trivial running
statistics, ReLU, Dropout, Linear) whose class lives in a throw-away module registered in
sys.modules, so that even `torch.save(model)` pickles it. The probe computes the model's
eval-mode outputs itself, lets the submission export it into the worker's private folder,
records every submodule's mode, inspects the file with the grader's own
`torch.export.load`, then takes the class away (gone from its module, forward and
__init__ raising) before calling the submission's `load_exported` on the file.
"""

import copy
import os
import sys
import types
import zipfile
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from grader.suites.worker_side import Described, describe
from grader.worker.child import describe_exception

FOLDER = "exports"
NAME = "net.pt2"
PATH = os.path.join(FOLDER, NAME)
BATCH, IN, OUT = 8, 6, 3
CLASS_MODULE = "course_models"
GONE = "the grader removed the model's Python class after export"


# ---- what the probes return ----

@dataclass
class GraphFlags:
    """Whether the exported graph runs dropout or batch norm in training mode."""
    dropout_train: bool = False
    batch_norm_train: bool = False


@dataclass
class FileCheck:
    """The grader's own look at the file at path: a zip, a torch.export archive, its outputs."""
    exists: bool
    is_zip: bool = False
    members: list[str] = field(default_factory=list)  # the zip's member names, without their top folder
    export_load_error: str | None = None  # what torch.export.load (or running its module) raised
    outputs: Tensor | None = None  # the loaded module's outputs on the new inputs
    outputs_again: Tensor | None = None  # the same, run again under another seed
    flags: GraphFlags | None = None


@dataclass
class Loaded:
    """load_exported(path) without the model's class, and calls of what it returned."""
    error: str | None  # what load_exported raised
    type: str  # the type of what it returned
    callable: bool
    is_exported_program: bool
    outputs: dict[str, Described]  # input name ("new", "other") -> output, up to the first call that raised
    call_error: str | None  # what a call raised (GONE: it ran the removed class)


@dataclass
class ExportRun:
    """export_model on a model given in train or eval mode; the file; load_exported on it."""
    start_training: bool
    export_error: str | None
    want: dict[str, Tensor]  # input name ("new", "other") -> the model's eval-mode outputs
    want_train_bn: Tensor  # the outputs with batch norm on batch statistics (a train-mode export's)
    modes_before: dict[str, bool]  # submodule name -> training
    modes_after: dict[str, bool]
    written: list[str]  # files the call wrote
    path: str
    file: FileCheck
    load_on_grader_file: bool  # load_exported was tried on the grader's own export of the model
    load: Loaded


def warm():
    """Called once by the zygote: the first torch.export in a process costs 1-2 s (dynamo,
    the serializer); paid here, every forked worker exports in a few tens of ms."""
    import tempfile

    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.5)).eval()
    exported = torch.export.export(model, (torch.zeros(2, 2),))
    with tempfile.TemporaryDirectory() as folder:
        torch.export.save(exported, os.path.join(folder, "warm.pt2"))
        torch.export.load(os.path.join(folder, "warm.pt2")).module()(torch.zeros(2, 2))


def _make_class():
    """A model class in its own importable module (so pickling by reference works)."""
    module = types.ModuleType(CLASS_MODULE)
    sys.modules[CLASS_MODULE] = module

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(IN, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                      nn.Dropout(0.5), nn.Linear(16, OUT))

        def forward(self, x):
            return self.body(x)

    Net.__module__, Net.__qualname__ = CLASS_MODULE, "Net"
    module.Net = Net
    return module, Net


def _remove_class(module, cls):
    def gone(*args, **kwargs):
        raise RuntimeError(GONE)

    del module.Net
    cls.forward = gone
    cls.__init__ = gone


def _model(cls, start_training):
    torch.manual_seed(0)
    model = cls()
    g = torch.Generator().manual_seed(1)
    model.train()
    with torch.no_grad():  # running statistics far from (0, 1): eval and train BN differ
        for _ in range(5):
            model(torch.randn(32, IN, generator=g) * 3 + 2)
    model.train(start_training)
    return model


def _modes(model):
    return {name or "(model)": m.training for name, m in model.named_modules()}


def _inputs(seed):
    return torch.randn(BATCH, IN, generator=torch.Generator().manual_seed(seed)) * 2 + 1


def _attempt(mod, fn, *args):
    try:
        return fn(*args), None
    except Exception as exc:
        return None, describe_exception(exc, os.path.abspath(mod.__file__))


def _listing():
    found = []
    for root, _, files in os.walk("."):
        for name in files:
            found.append(os.path.relpath(os.path.join(root, name), "."))
    return sorted(found)


def _graph_flags(program) -> GraphFlags:
    """Whether the exported graph runs dropout or batch norm in training mode."""
    flags = GraphFlags()
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        target = str(node.target)
        if "dropout" in target and len(node.args) > 2 and node.args[2] is True:
            flags.dropout_train = True
        if "batch_norm" in target and len(node.args) > 5 and node.args[5] is True:
            flags.batch_norm_train = True
    return flags


def _inspect_file(path, x_new) -> FileCheck:
    """The grader's own look at the file: a zip, a torch.export archive, its outputs."""
    out = FileCheck(exists=os.path.isfile(path))
    if not out.exists:
        return out
    out.is_zip = zipfile.is_zipfile(path)
    if out.is_zip:
        with zipfile.ZipFile(path) as archive:
            out.members = sorted({n.split("/", 1)[-1] for n in archive.namelist()})[:40]
    try:
        program = torch.export.load(path)
        module = program.module()
        with torch.no_grad():
            torch.manual_seed(5)
            out.outputs = module(x_new).detach().clone()
            torch.manual_seed(6)
            out.outputs_again = module(x_new).detach().clone()
        out.flags = _graph_flags(program)
    except Exception as exc:
        out.export_load_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return out


def export_and_load(mod, start_training) -> ExportRun:
    """Export a model given in train or eval mode; inspect the file; load it without the class."""
    module, cls = _make_class()
    model = _model(cls, start_training)
    example, x_new, x_other = _inputs(10), _inputs(11), _inputs(12)
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        want = {"new": reference(x_new), "other": reference(x_other)}
        train_like = copy.deepcopy(model).train()
        train_like.body[3].eval()  # batch statistics, dropout off: what a train-mode export's BN gives
        want_train_bn = train_like(x_new)
    del reference, train_like
    modes_before = _modes(model)
    os.makedirs(FOLDER, exist_ok=True)
    before = _listing()
    _, error = _attempt(mod, mod.export_model, model, example, PATH)
    modes_after = _modes(model)
    written = [n for n in _listing() if n not in before]
    file = _inspect_file(PATH, x_new)
    # load_exported is tried on a real torch.export archive: the submission's own, or, where
    # export_model failed or wrote something else, the grader's (a wrong file is reported once,
    # by the file's own check)
    on_grader_file = bool(error) or file.outputs is None
    if on_grader_file:
        if os.path.isfile(PATH):
            os.replace(PATH, PATH + ".submission")
        was = model.training
        model.eval()
        torch.export.save(torch.export.export(model, (example,)), PATH)
        model.train(was)
    _remove_class(module, cls)
    del model
    load = _call_loaded(mod, x_new, x_other)
    return ExportRun(start_training=start_training, export_error=error, want=want, want_train_bn=want_train_bn,
                     modes_before=modes_before, modes_after=modes_after, written=written, path=PATH,
                     file=file, load_on_grader_file=on_grader_file, load=load)


def _call_loaded(mod, x_new, x_other) -> Loaded:
    loaded, error = _attempt(mod, mod.load_exported, PATH)
    result = Loaded(error=error, type=type(loaded).__name__, callable=callable(loaded),
                    is_exported_program=isinstance(loaded, torch.export.ExportedProgram),
                    outputs={}, call_error=None)
    if error is not None:
        return result
    for name, x in (("new", x_new), ("other", x_other)):
        try:
            with torch.no_grad():
                result.outputs[name] = describe(loaded(x.clone()))
        except Exception as exc:
            text = str(exc).strip().splitlines()
            result.call_error = f"{type(exc).__name__}: {text[0] if text else ''}"
            if GONE in str(exc):
                result.call_error = GONE
            break
    return result
