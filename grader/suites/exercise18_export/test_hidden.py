"""Hidden checks for exercise18_export."""

import re

import torch

from grader.checks import FLOAT32, Mistake, check, close, expect
from grader.suites.trusted_side import tensor_of
from grader.suites.worker_side import Described
from grader.suites.exercise18_export.probes import BATCH, GONE, OUT, ExportRun

FIX_EXPORT = ("export with exported = torch.export.export(model, (example_input,)) and save it with "
              "torch.export.save(exported, path)")


# ---- trusted helpers ----

def _run(student, start_training):
    return student.run("export_and_load", start_training=start_training)


def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32)


def _tidy(error: str) -> str:
    """The submission's error without torch's long advice about corrupted checkpoint files."""
    error = re.sub(r" This is an internal miniz error.*?(?= \(\S+\.py, line \d+\)$|$)", "", error)
    return error.replace("is not implemented yet (NotImplementedError: Calling",
                         "raised NotImplementedError (Calling")


def _raised(error: str, what: str) -> Mistake:
    """What the submission raised (the bare message for a stub), with a hint for known causes."""
    if "not supported" in error and ("eval()" in error or "train()" in error):
        return Mistake(f"{what} ({_tidy(error)}): the module of a loaded program cannot be switched with "
                       ".eval() or .train(); its graph was already fixed in eval mode at export")
    if "constants.pkl" in error:
        return Mistake(f"{what} ({_tidy(error)}): torch.jit.load reads TorchScript files, not torch.export "
                       "programs; load it with torch.export.load(path)")
    if any(s in error for s in ("Can't get attribute", "course_models", "weights_only", "data.pkl",
                                "Weights only load failed")):
        return Mistake(f"{what} ({_tidy(error)}): torch.load cannot read a torch.export program (and would "
                       "need the model's class); load it with torch.export.load(path)")
    if "not implemented" in error:
        return Mistake(error)
    if "tuple" in error and "export_model" in error:
        return Mistake(f"{what}: {error} — torch.export.export takes the example inputs as a tuple: "
                       "torch.export.export(model, (example_input,))")
    return Mistake(f"{what}: {_tidy(error)}")


def _export_worked(got: ExportRun) -> None:
    if got.export_error:
        raise _raised(got.export_error, "export_model failed")


def _file_problem(got: ExportRun) -> str | None:
    """Why the file at path is not a loadable torch.export archive, or None."""
    f = got.file
    if not f.exists:
        others = [n for n in got.written if not n.endswith(".submission")]
        where = f" (it wrote {', '.join(others)} instead)" if others else " (it wrote no file at all)"
        return (f"export_model did not save a file at the path it was given, {got.path}{where}: "
                "save to exactly that path with torch.export.save(exported, path)")
    if not f.is_zip:
        return ("the file at path is not a .pt2 archive (a zip file written by torch.export.save): "
                + FIX_EXPORT)
    if f.outputs is not None:
        return None
    members = f.members
    if any(m.startswith("code/") or m == "constants.pkl" for m in members):
        return ("the file is a TorchScript archive (torch.jit.save), not a torch.export program: "
                + FIX_EXPORT)
    if "data.pkl" in members:
        return ("the file was written with torch.save (a pickled model or state_dict), which needs the "
                "model's Python class to load again: " + FIX_EXPORT)
    return (f"torch.export.load(path) cannot load the file ({f.export_load_error}): " + FIX_EXPORT)


def _exported_file(student, start_training, prefix: str = "") -> ExportRun:
    """The run of export_and_load, once export_model worked and left a loadable archive at path; else
    a Mistake (the file's problem after `prefix`)."""
    got = _run(student, start_training)
    _export_worked(got)
    problem = _file_problem(got)
    if problem:
        raise Mistake(prefix + problem)
    return got


def _outputs(desc: Described, what: str) -> torch.Tensor:
    values = tensor_of(desc, what)
    expect(tuple(values.shape) == (BATCH, OUT), f"{what} has shape {tuple(values.shape)}; the model gives "
           f"({BATCH}, {OUT}) for a batch of the example's shape")
    return values


# ---- api ----

@check("api")
def test_api(student):
    """export_model and load_exported exist with the README's signatures; load_exported returns a callable"""
    student.expect_api()
    load = _run(student, False).load
    if load.error:
        raise _raised(load.error, "load_exported failed on a torch.export archive")
    expect(not load.is_exported_program, "load_exported returned the ExportedProgram itself, which cannot "
           "be called: return torch.export.load(path).module()")
    expect(load.callable, f"load_exported should return something callable (the module of the loaded "
           f"program), not a {load.type}")
    if load.call_error is None:
        _outputs(load.outputs["new"], "the output of the callable load_exported returned")


# ---- the file ----

@check("checkpoint", points=2)
def test_export_file(student):
    """export_model saves a torch.export archive (.pt2) at the path it is given"""
    for start in (False, True):
        _exported_file(student, start)


# ---- the exported program ----

@check("values", points=3)
def test_export_eval_outputs(student):
    """the exported program computes the model's eval-mode outputs, also for a model given in train mode"""
    for start in (True, False):
        got = _exported_file(student, start, "the exported program could not be checked: ")
        f = got.file
        out, want = f.outputs, got.want["new"]
        if _same(out, want):
            continue
        mode = "train" if start else "eval"
        flags = f.flags
        train_graph = flags is not None and (flags.dropout_train or flags.batch_norm_train)
        random = not _same(out, f.outputs_again)
        if train_graph or random or _same(out, got.want_train_bn):
            raise Mistake(f"the exported program gives train-mode outputs (dropout active, batch norm on batch "
                          f"statistics) for a model given in {mode} mode: call model.eval() before "
                          "torch.export.export, then restore the mode the model was in")
        diff = (out.double() - want.double()).abs().max().item() if out.shape == want.shape else None
        raise Mistake("the exported program's outputs differ from the model's eval-mode outputs"
                      + (f" (largest difference {diff:.3g})" if diff is not None else
                         f" (shape {tuple(out.shape)}, expected {tuple(want.shape)})")
                      + ": export the model you were given, with the example input as it is")


# ---- modes ----

@check("modes", points=2)
def test_export_restores_mode(student):
    """export_model leaves the model (and every submodule) in the mode it was in: train stays train, eval stays eval"""
    for start in (True, False):
        got = _run(student, start)
        _export_worked(got)
        before, after = got.modes_before, got.modes_after
        changed = [name for name in before if after.get(name) != before[name]]
        if not changed:
            continue
        if start:
            raise Mistake("export_model left the model in eval mode; it was in train mode before the call: "
                          "remember model.training and restore it with model.train(was_training) afterwards")
        raise Mistake("export_model switched the model to train mode although it was in eval mode before the "
                      "call: restore the mode it had (model.train(was_training)), do not force model.train()")


# ---- loading ----

@check("checkpoint", points=3)
def test_load_without_class(student):
    """load_exported(path) gives the eval-mode outputs on new inputs, without the model's Python class"""
    got = _run(student, False)
    load = got.load
    error = load.error
    if error:
        raise _raised(error, "load_exported failed on a torch.export archive")
    if load.is_exported_program:
        raise Mistake("load_exported returned the ExportedProgram itself, and calling an ExportedProgram "
                      "raises: return torch.export.load(path).module() (or a function that calls it)")
    expect(load.callable, f"load_exported returned a {load.type}, which cannot be called: "
           "return torch.export.load(path).module()")
    if load.call_error == GONE:
        raise Mistake("the callable load_exported returned still runs the model's Python class (removed by the "
                      "grader after export): build it only from the file, with torch.export.load(path).module()")
    if load.call_error:
        raise Mistake(f"calling what load_exported returned on a batch of the example's shape failed: "
                      f"{load.call_error}")
    for name in ("new", "other"):
        out = _outputs(load.outputs[name], "the output of the loaded model")
        want = got.want[name]
        if not _same(out, want):
            diff = (out.double() - want.double()).abs().max().item()
            raise Mistake("what load_exported returned gives outputs different from the model's eval-mode "
                          f"outputs on new inputs (largest difference {diff:.3g}): return the module of the "
                          "loaded program, torch.export.load(path).module()")
