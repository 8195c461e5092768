"""Hidden checks for exercise12_devices."""

import torch

from grader.checks import FLOAT32_SMALL, LOSS, Mistake, check, close, expect, near
from grader.suites.worker_side import VALUE_READS, Described
from grader.suites.trusted_side import check_devices, diagnose_steps, loss_after_step
from grader.suites.exercise12_devices.probes import Node, Picked, loss_of, step_batches

# ---- trusted helpers: pick_device ----

MACHINE_WORDS = {"cpu": "only a cpu", "cuda2": "2 cuda devices", "mps": "mps and no cuda",
                 "both": "1 cuda device and mps"}


def _call(prefer) -> str:
    return "pick_device()" if prefer is None else f"pick_device({prefer!r})"


def _picked(cases: dict[str, Picked], machine: str, prefer):
    """(record, torch.device or None) for one simulated call."""
    record = cases[f"{machine}|{prefer}"]
    device = None
    if record.kind in ("device", "str"):
        try:
            device = torch.device(record.device)
        except (RuntimeError, TypeError, ValueError):
            device = None
    return record, device


def _is(device: torch.device | None, want: str) -> bool:
    """cuda and cuda:0 are the same device (as are mps and mps:0, cpu and cpu:0)."""
    want = torch.device(want)
    return device is not None and device.type == want.type and (device.index or 0) == (want.index or 0)


def _expect_device(cases, machine, prefer, want, hint):
    record, device = _picked(cases, machine, prefer)
    where = f"on a machine with {MACHINE_WORDS[machine]}"
    if record.kind == "error":
        raise Mistake(f"{_call(prefer)} raised {record.message} {where}; it should return {want}{hint}")
    if device is None:
        raise Mistake(f"{_call(prefer)} returned a {record.kind} {where}, not a torch.device")
    if not _is(device, want):
        raise Mistake(f"{_call(prefer)} returned {device} {where}; it should return {want}{hint}")
    return device


def _expect_value_error(cases, machine, prefer, why):
    record, device = _picked(cases, machine, prefer)
    where = f"on a machine with {MACHINE_WORDS[machine]}"
    if record.kind == "error":
        if record.error != "ValueError":
            raise Mistake(f"{_call(prefer)} raised {record.error}, not ValueError, {where} ({why}): "
                          "raise ValueError(...) when the preferred device is not available")
        return
    shown = device if device is not None else f"a {record.kind}"
    raise Mistake(f"{_call(prefer)} returned {shown} {where}, but {why}: raise ValueError when the "
                  "preferred device is not available (never fall back silently)")


# ---- trusted helpers: move_to ----

MOVE_CASES = {"nested": "a dict holding dicts, lists and tuples", "sequences": "nested lists and tuples",
              "tensor": "a bare tensor", "value": "a value that is not a tensor",
              "namedtuple": "a namedtuple holding tuples, namedtuples and a dict",
              "one_field": "a namedtuple with a single field", "one_field_nested": "nested one-field namedtuples"}
NAMEDTUPLE_HINT = ("a namedtuple's constructor takes one argument per field: rebuild it with "
                   "type(obj)(*items) or obj._make(items)")


def _parent(path: str) -> str | None:
    return path[:path.rfind("[")] if "[" in path else None


def _kind_words(desc: Node) -> str:
    kind = desc.kind
    if kind == "namedtuple":
        return f"namedtuple ({desc.type.rsplit('.', 1)[-1]})"
    if kind == "value":
        return desc.type.rsplit(".", 1)[-1]
    return kind


def _move_cases(student, include_namedtuple: bool):
    """move_to's records; a crash is a Mistake (one on the namedtuple only if asked)."""
    cases = student.run("move_to_cases")
    for name, record in cases.items():
        if record.error and (include_namedtuple or name != "namedtuple"):
            hint = f": {NAMEDTUPLE_HINT}" if name == "namedtuple" else ""
            raise Mistake(f"move_to raised {record.error} on {MOVE_CASES[name]}{hint}")
    return {name: r for name, r in cases.items() if not r.error}


def _missing(path: str, result: dict[str, Node]) -> str:
    """What became of a path that is not in the result."""
    parent = path
    while parent is not None and parent not in result:
        parent = _parent(parent)
    if parent is None:
        return "is missing from what move_to returned"
    return f"is missing: its container {parent} came back as a {_kind_words(result[parent])}" + (
        f" of length {result[parent].length}" if result[parent].length is not None else "")


# ---- trusted helpers: train_step ----

def _devices(student):
    return check_devices(student)


def _device_runs(student):
    for device in _devices(student):
        for form in ("tuple", "dict"):
            yield device, form, student.run("train_step_device", device=device, form=form)


FORM_WORDS = {"tuple": "((x, extra), y)", "dict": "({'x': ..., 'mask': ...}, {'y': ..., 'weight': ...})"}


def _number(desc: Described | None, what: str) -> float:
    """The loss train_step returned, as a number (a float or a 1-element tensor; see the api check)."""
    if desc is None:
        raise Mistake(f"{what} returned nothing")
    if desc.is_tensor:
        if desc.values is None or desc.values.numel() != 1:
            raise Mistake(f"{what} returned a tensor of shape {tuple(desc.shape)}, not the loss")
        return float(desc.values.reshape(()))
    if desc.value is None or isinstance(desc.value, bool):
        raise Mistake(f"{what} returned a {desc.type}, not the loss: return loss.detach()")
    return float(desc.value)


def _loss_and_grads(params, inputs, targets):
    params = [p.double().requires_grad_(True) for p in params]
    with torch.enable_grad():
        loss = loss_of(params, [t.double() if t.is_floating_point() else t for t in inputs], targets)
        grads = torch.autograd.grad(loss, params)
    return loss.item(), [g.float() for g in grads]


def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32_SMALL)


# ---- api ----

@check("api")
def test_api(student):
    """pick_device, move_to and train_step exist with the README's signatures; pick_device returns a torch.device"""
    student.expect_api()
    cases = student.run("pick_device_cases")
    for key, record in cases.items():
        machine, prefer = key.split("|")
        prefer = None if prefer == "None" else prefer
        if record.kind == "str":
            raise Mistake(f"{_call(prefer)} returned the string {record.device!r}, not a torch.device: "
                          f"return torch.device({record.device!r})")
        if record.kind not in ("device", "error"):
            raise Mistake(f"{_call(prefer)} returned a {record.kind}, not a torch.device")


# ---- pick_device ----

@check("device")
def test_pick_device_default(student):
    """pick_device() picks cuda if available, else mps if available, else cpu"""
    cases = student.run("pick_device_cases")
    hint = {"cpu": " when neither cuda nor mps is available",
            "cuda2": ": check torch.cuda.is_available() first",
            "mps": ": without cuda, check torch.backends.mps.is_available() next",
            "both": ": cuda comes before mps"}
    for machine, want in (("both", "cuda"), ("cuda2", "cuda"), ("mps", "mps"), ("cpu", "cpu")):
        _expect_device(cases, machine, None, want, hint[machine])


@check("device")
def test_pick_device_prefer(student):
    """pick_device(prefer) returns the preferred device when it is available, even if a faster one is"""
    cases = student.run("pick_device_cases")
    hint = ": the preferred device comes first when it is available"
    for machine, prefer in (("cpu", "cpu"), ("cuda2", "cpu"), ("both", "cpu"), ("both", "mps"),
                            ("mps", "mps"), ("cuda2", "cuda"), ("both", "cuda")):
        _expect_device(cases, machine, prefer, prefer, hint)


@check("device")
def test_pick_device_unavailable(student):
    """pick_device(prefer) raises ValueError when cuda or mps is preferred but not available"""
    cases = student.run("pick_device_cases")
    for machine, prefer, why in (("cpu", "cuda", "there is no cuda"), ("mps", "cuda", "there is no cuda"),
                                 ("cpu", "mps", "there is no mps"), ("cuda2", "mps", "there is no mps")):
        _expect_value_error(cases, machine, prefer, why)


@check("device")
def test_pick_device_cuda_index(student):
    """pick_device("cuda:N") returns that cuda device, and raises ValueError when N >= the number of cuda devices"""
    cases = student.run("pick_device_cases")
    for prefer in ("cuda:1", "cuda:0"):
        device = _expect_device(cases, "cuda2", prefer, prefer, ": keep the index of the device asked for")
        if prefer == "cuda:1" and device.index != 1:
            raise Mistake(f"pick_device('cuda:1') returned {device}: keep the index, torch.device('cuda:1')")
    _expect_value_error(cases, "cuda2", "cuda:2", "cuda:2 does not exist there (only cuda:0 and cuda:1; "
                        "N must be below torch.cuda.device_count())")
    _expect_value_error(cases, "both", "cuda:1", "cuda:1 does not exist there (only cuda:0; N must be below "
                        "torch.cuda.device_count())")
    _expect_value_error(cases, "cpu", "cuda:0", "there is no cuda")


# ---- move_to ----

@check("device", points=2)
def test_move_to_tensors(student):
    """move_to moves every tensor, however deeply nested in dicts, lists, tuples and namedtuples, to the device"""
    for name, record in _move_cases(student, include_namedtuple=False).items():
        result = record.result
        for path, desc in record.before.items():
            if desc.kind != "tensor":
                continue
            if path not in result:
                raise Mistake(f"the tensor at {path} ({MOVE_CASES[name]}) {_missing(path, result)}")
            got = result[path]
            if got.kind != "tensor" and got.type == "generator":
                raise Mistake(f"the tensor at {path} ({MOVE_CASES[name]}) came back as a generator: the namedtuple "
                              "was rebuilt from a generator, type(obj)(move_to(x, device) for x in obj), which "
                              "puts the generator itself in its one field (and raises for two or more); "
                              + NAMEDTUPLE_HINT)
            if got.kind != "tensor":
                raise Mistake(f"the tensor at {path} ({MOVE_CASES[name]}) came back as a {_kind_words(got)}")
            if got.device != "meta":
                parent = _parent(path)
                inside = ("a bare tensor was not moved: return obj.to(device) for a tensor" if parent is None else
                          f"move_to did not recurse into {_kind_words(record.before[parent])}s")
                raise Mistake(f"the tensor at {path} stayed on {got.device} (move_to(obj, 'meta')): {inside}")
            if got.dtype != desc.dtype or got.shape != desc.shape:
                raise Mistake(f"the tensor at {path} changed from {desc.dtype} {tuple(desc.shape)} to "
                              f"{got.dtype} {tuple(got.shape)}: move it with .to(device) and nothing else")


@check("api")
def test_move_to_types(student):
    """move_to keeps each container's type: dict, list, tuple, and a namedtuple's own class"""
    for name, record in _move_cases(student, include_namedtuple=True).items():
        result = record.result
        for path, desc in record.before.items():
            if desc.kind in ("tensor", "value"):
                continue
            what = _kind_words(desc)
            if path not in result:
                raise Mistake(f"the {what} at {path} {_missing(path, result)}")
            got = result[path]
            if got.type == desc.type:
                continue
            if desc.kind == "namedtuple":
                raise Mistake(f"the {what} at {path} came back as a {_kind_words(got)}: {NAMEDTUPLE_HINT}")
            raise Mistake(f"the {what} at {path} came back as a {_kind_words(got)}: return the same kind of "
                          f"container you were given (a {desc.type} for a {desc.type})")


@check("values")
def test_move_to_other_values(student):
    """move_to returns values that are not tensors (ints, strings, None, other objects) as they are"""
    for name, record in _move_cases(student, include_namedtuple=False).items():
        result = record.result
        for path, desc in record.before.items():
            if desc.kind != "value":
                continue
            what = f"the {_kind_words(desc)} {desc.repr} at {path}"
            if path not in result:
                if _parent(path) is not None and _parent(path) in result:
                    raise Mistake(f"move_to dropped {what}: keep the values that are not tensors, as they are")
                raise Mistake(f"{what} {_missing(path, result)}")
            got = result[path]
            if got.id == desc.id:
                continue
            if got.type == "NoneType":
                raise Mistake(f"{what} came back as None: return every other value unchanged (does move_to end "
                              "with `return obj`?)")
            if got.type != desc.type:
                raise Mistake(f"{what} came back as a {_kind_words(got)}: return it as it is")
            raise Mistake(f"{what} came back as a copy: return values that are not tensors as they are (the "
                          "same object)")


@check("values")
def test_move_to_input_unchanged(student):
    """move_to leaves the object it was given unchanged (it builds new containers)"""
    for name, record in _move_cases(student, include_namedtuple=False).items():
        before, after = record.before, record.after
        for path, desc in before.items():
            now = after.get(path)
            if now is None or now.id != desc.id or now.device != desc.device:
                shown = "is gone" if now is None else (
                    f"now holds a tensor on {now.device}" if now.kind == "tensor" else
                    f"now holds a {_kind_words(now)}")
                raise Mistake(f"move_to changed the object it was given: its {path} {shown}. Build and return "
                              "new containers instead of assigning into obj")
        if set(after) != set(before):
            extra = sorted(set(after) - set(before))[0]
            raise Mistake(f"move_to changed the object it was given: it now has {extra}. Build and return new "
                          "containers instead of changing obj")


# ---- train_step ----

@check("device", points=2)
def test_train_step_moves_batch(student):
    """train_step moves every tensor of the batch, however nested, to `device` (meta, and cuda when present)"""
    for device, form, got in _device_runs(student):
        batch = f"batch {FORM_WORDS[form]}"
        if not got.inputs:
            error = got.error
            if error and "cuda" in error.lower() and device != "cuda":
                raise Mistake(f"train_step hard-codes cuda ({error}) while the model is on {device}: move the "
                              "batch to the device you were given, move_to(batch, device)")
            if error:
                raise Mistake(f"train_step raised {error} before calling the model (on the {batch}): move the "
                              "whole batch, however nested, with move_to(batch, device)")
            raise Mistake("train_step never called the model")
        for seen in got.inputs:
            wrong = {p: d for p, d in seen.items() if torch.device(d).type != device}
            if wrong and len(wrong) == len(seen):
                raise Mistake(f"the inputs reached the model on {next(iter(wrong.values()))} while the model is on "
                              f"{device}: move the batch to the device you were given (move_to(batch, device)); "
                              "never hard-code a device")
            if wrong:
                path, where = next(iter(wrong.items()))
                raise Mistake(f"{path} reached the model on {where} while the rest of the inputs were on {device} "
                              f"(the {batch}): move every tensor of the batch, however nested, "
                              "with move_to(batch, device)")
        if not got.losses:
            raise Mistake("train_step never called loss_fn" + (f" ({got.error})" if got.error else ""))
        for seen in got.losses:
            wrong = {p: d for p, d in seen.targets.items() if torch.device(d).type != device}
            if wrong:
                path, where = next(iter(wrong.items()))
                shown = "the targets" if path == "targets" else f"the targets ({path})"
                raise Mistake(f"{shown} reached loss_fn on {where} while the model is on {device}: "
                              "move the targets too (move_to(batch, device) moves inputs and targets at once)")


@check("device")
def test_train_step_creates_on_device(student):
    """train_step creates no tensor on a device other than `device` (checked with the model on meta)"""
    for device, form, got in _device_runs(student):
        if got.created:
            made = got.created[0]
            fn = made.function
            raise Mistake(f"train_step created a tensor on {made.device} with torch.{fn}(...) while the model "
                          f"is on {device}: create it on the device, torch.{fn}(..., device=device) (or "
                          "torch.zeros_like(x) / x.new_zeros(...))")
        if not got.inputs:
            raise Mistake("train_step " + (f"raised {got.error} before it ran the model" if got.error
                                           else "never ran the model") + ", so nothing could be checked")


@check("api")
def test_train_step_returns_detached(student):
    """train_step returns the loss as a 0-dim tensor with no autograd graph (loss.detach())"""
    for call in student.run("train_step_trace").calls:
        got = call.result
        if not got.is_tensor:
            if got.type == "float":
                raise Mistake("train_step returned the loss as a Python float (loss.item()): return the tensor, "
                              "detached, loss.detach() (.item() makes the CPU wait for the GPU, and there is no "
                              "value to read on meta)")
            raise Mistake(f"train_step returned a {got.type}: return the loss, loss.detach()")
        if got.requires_grad or got.has_graph:
            raise Mistake("train_step returned the loss with its autograd graph attached: return loss.detach() "
                          "(holding on to the graph keeps the whole step's activations in memory)")
        if got.shape:
            raise Mistake(f"train_step returned a tensor of shape {tuple(got.shape)}: return the 0-dim loss "
                          "itself, loss.detach()")


@check("device")
def test_train_step_loss_on_device(student):
    """train_step returns the loss on `device`: no value read, no copy to cpu (meta, and cuda when present)"""
    for device, form, got in _device_runs(student):
        error = got.error
        if error and any(marker in error for marker in VALUE_READS):
            raise Mistake(f"train_step reads the loss's value or copies it to the cpu ({error}): return "
                          "loss.detach(), a tensor on the device; no .item(), float(), .cpu() or printing values "
                          "(on a GPU each one makes the CPU wait, and on meta there are no values)")
        if error and "expected device" in error:
            raise Mistake(f"train_step raised {error} with the model on {device}: a tensor on another device "
                          "was mixed into the computation; create every tensor on `device`")
        if error:
            raise Mistake(f"train_step raised {error} with the model on {device}")
        result = got.result
        if not result.is_tensor:
            raise Mistake(f"train_step returned a {result.type} with the model on {device}, not the loss "
                          "tensor: return loss.detach()")
        if torch.device(result.device).type != device:
            raise Mistake(f"train_step returned the loss on {result.device} while the model is on {device}: "
                          "return loss.detach() where it is (no .cpu(), no .to('cpu'))")


def _traces(student, reference):
    want = reference.run("train_step_trace").calls
    for device in ["cpu"] + (["cuda"] if student.run("cuda_available") else []):
        yield device, student.run("train_step_trace", device=device).calls, want


@check("gradients", points=2)
def test_train_step_gradients(student, reference):
    """train_step steps once, on the fresh gradients of this batch's loss (zero_grad, backward, step in order)"""
    for device, got, want in _traces(student, reference):
        ok = (all(len(g.steps) == 1 for g in got)
              and all(_same(g.steps[0], w.steps[0]) for g, w in zip(got, want))
              and all(_same(g.params_after, w.params_after) for g, w in zip(got, want)))
        if not ok:
            where = "" if device == "cpu" else f" (on {device})"
            true = [_loss_and_grads(c.params_before, x, y)[1]
                    for c, (x, y) in zip(got, step_batches("tuple"))]
            message = diagnose_steps("train_step", "call", [c.steps for c in got], true,
                                     [c.grads_after for c in got],
                                     "compute loss_fn(model(inputs), targets), call backward on it, then step")
            raise Mistake((message or "the parameters after train_step differ from one optimizer step on "
                           "this batch's loss") + where)


@check("values")
def test_train_step_loss_value(student, reference):
    """train_step returns the loss of the batch, loss_fn(model(inputs), targets), computed before the step"""
    for device, got, want in _traces(student, reference):
        first = _number(got[0].result, "train_step")
        expected = _number(want[0].result, "the reference's train_step")
        for call, (inputs, targets) in zip(got, step_batches("tuple")):
            value = _number(call.result, "train_step")
            before = _loss_and_grads(call.params_before, inputs, targets)[0]
            if near(value, before, tol=LOSS):
                continue
            after = _loss_and_grads(call.params_after, inputs, targets)[0]
            raise Mistake(loss_after_step("train_step", value, after, before)
                          or f"train_step returned {value:.5f}, but loss_fn(model(inputs), targets) for that "
                          f"batch is {before:.5f}" + ("" if device == "cpu" else f" (on {device})"))
        expect(near(first, expected, tol=LOSS),
               f"train_step returned {first:.5f} on the first batch; the loss there is {expected:.5f}")
