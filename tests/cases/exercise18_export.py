"""exercise18_export: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

EXPORT = "        exported = torch.export.export(model, (example_input,))\n"
SAVE = "    torch.export.save(exported, path)\n"
LOAD = "    return torch.export.load(path).module()"
RESTORE = "    finally:\n        model.train(was_training)\n"

MISTAKES = {
    "exports_in_train_mode": (
        [("    model.eval()\n", "")],
        {"export_eval_outputs": "train-mode outputs"}),
    "mode_not_restored": (
        [(RESTORE, "    finally:\n        pass\n")],
        {"export_restores_mode": "left the model in eval mode"}),
    "forces_train_mode_after": (
        [("        model.train(was_training)", "        model.train()")],
        {"export_restores_mode": "switched the model to train mode"}),
    "example_not_a_tuple": (
        [(EXPORT, EXPORT.replace("(example_input,)", "example_input"))],
        {"export_file": "as a tuple", "export_eval_outputs": "as a tuple", "export_restores_mode": "as a tuple"}),
    "pickles_the_model": (
        [(SAVE, "    torch.save(model, path)\n"), (LOAD, "    return torch.load(path, weights_only=False)")],
        {"export_file": "written with torch.save", "export_eval_outputs": "could not be checked",
         "api": "torch.export.load(path)", "load_without_class": "torch.load cannot read"}),
    "torchscript_instead_of_export": (
        [(EXPORT, "        exported = torch.jit.trace(model, example_input)\n"),
         (SAVE, "    torch.jit.save(exported, path)\n"), (LOAD, "    return torch.jit.load(path)")],
        {"export_file": "torchscript", "export_eval_outputs": "could not be checked",
         "api": "torch.jit.load reads torchscript", "load_without_class": "torch.jit.load reads torchscript"}),
    "returns_the_exported_program": (
        [(LOAD, "    return torch.export.load(path)")],
        {"api": "ExportedProgram itself", "load_without_class": "ExportedProgram itself"}),
    "switches_the_loaded_module_to_eval": (
        [(LOAD, "    return torch.export.load(path).module().eval()")],
        {"api": "cannot be switched", "load_without_class": "cannot be switched"}),
    "saves_to_a_fixed_file_name": (
        [(SAVE, '    torch.export.save(exported, "model.pt2")\n')],
        {"export_file": "wrote model.pt2 instead", "export_eval_outputs": "did not save a file"}),
    "keeps_the_python_model": (
        [(SAVE, SAVE + "    global _LAST_MODEL\n    _LAST_MODEL = model\n"),
         (LOAD, "    return _LAST_MODEL")],
        {"load_without_class": "still runs the model's python class"}),
}

ALTERNATIVES = {
    "deepcopy_and_lambda": '''
import copy


def export_model(model, example_input, path):
    frozen = copy.deepcopy(model).eval()
    program = torch.export.export(frozen, args=(example_input,))
    torch.export.save(program, path)


def load_exported(path):
    program = torch.export.load(path)
    module = program.module()
    return lambda x: module(x)
''',
    "every_submodule_restored_and_extra_files": '''
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
''',
    "file_objects_and_no_grad_wrapper": '''
def export_model(model, example_input, path):
    mode = model.training
    model.train(False)
    try:
        program = torch.export.export(model, (example_input.clone(),), strict=False)
    finally:
        if mode:
            model.train()
    with open(path, "wb") as f:
        torch.export.save(program, f)


def load_exported(path):
    with open(path, "rb") as f:
        module = torch.export.load(f).module()

    def predict(x):
        with torch.no_grad():
            return module(x)

    return predict
''',
}
