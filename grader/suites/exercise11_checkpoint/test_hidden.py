"""Hidden checks for exercise11_checkpoint."""

import io
import os
import zipfile

import torch

from grader.checks import SAME_OPS, Mistake, check, close, expect
from grader.suites.trusted_side import check_devices
from grader.suites.worker_side import Described
from grader.suites.exercise11_checkpoint.probes import NAME, SAVED_AT, OptimizerState, ResumeTrace, tensors_in
from grader.worker.wire import load_untrusted

MAX_UNPACKED_BYTES = 16 << 20
FIX_ATOMIC = ("write the checkpoint to a temporary file in the same folder (e.g. path + '.tmp', or "
              "tempfile.NamedTemporaryFile(dir=...)), then os.replace() it onto path")


# ---- trusted helpers ----

def _load_bytes(tensor):
    """Load a file's bytes here, in the trusted process, as the README promises it loads."""
    return load_untrusted(tensor.numpy().tobytes(), MAX_UNPACKED_BYTES)


def _complete(tensor) -> bool:
    """Whether a file torch.save wrote is complete (a zip archive whose every entry checks out); nothing
    is unpickled, so this also holds for files that weights_only=True refuses."""
    if tensor is None:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(tensor.numpy().tobytes())) as archive:
            infos = archive.infolist()
            small = sum(info.file_size for info in infos) <= MAX_UNPACKED_BYTES
            return bool(infos) and small and archive.testzip() is None
    except Exception:
        return False


def _same(a, b) -> bool:
    return close(a, b, tol=SAME_OPS)


def _same_state(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)


def _same_optimizer(got: OptimizerState, want: OptimizerState) -> bool:
    if len(got.per_param) != len(want.per_param):
        return False
    for g, w in zip(got.per_param, want.per_param):
        if (g is None) != (w is None):
            return False
        if g is not None and not _same_state(g, w):
            return False
    return True


def _raised(error: str, context: str, hint: str = "") -> Mistake:
    """What the submission raised, with what the grader was doing (the bare message for a stub)."""
    if "not implemented" in error:
        return Mistake(error)
    return Mistake(f"{context}: {error}{hint}")


def _number(desc: Described):
    if desc.is_tensor:
        values = desc.values
        return values.reshape(-1)[0].item() if values is not None and values.numel() == 1 else None
    value = desc.value
    return value if type(value) in (int, float) else None


# ---- api ----

@check("api")
def test_api(student):
    """save_checkpoint and load_checkpoint exist with the README's signatures; load_checkpoint returns an int"""
    student.expect_api()
    for call in student.run("epochs"):
        got = call.got
        expect(not got.is_tensor, "load_checkpoint returned the epoch as a tensor: return it as a Python int")
        expect(got.type != "NoneType", "load_checkpoint returned None: return the epoch stored in the checkpoint")
        expect(got.type == "int", f"load_checkpoint should return the epoch as a Python int, not a {got.type}")


# ---- the file ----

@check("checkpoint", points=2)
def test_one_file_weights_only(student):
    """save_checkpoint writes one file, loadable with weights_only=True, holding the model's and optimizer's state"""
    got = student.run("save_file")
    expect(got.exists, "save_checkpoint did not write a file at the path it was given (files in that folder: "
           f"{', '.join(got.folder) or 'none'})")
    extra = [n for n in got.folder if n != NAME] + got.elsewhere
    expect(not extra, f"save_checkpoint left {len(extra)} more file(s) beside the checkpoint ({', '.join(extra)}): "
           "everything goes into the one file at path, and a temporary file is moved onto path (os.replace), "
           "not copied")
    expect(got.file is not None, f"the checkpoint is {got.size} bytes, but a small model's takes a few kB: "
           "save the state_dicts, not whole objects")
    try:
        obj = _load_bytes(got.file)
    except Exception as exc:
        raise Mistake("the checkpoint does not load with torch.load(path, weights_only=True) "
                      f"({type(exc).__name__}): save state_dicts (model.state_dict(), optimizer.state_dict(), ...) "
                      "and plain numbers, not the model, optimizer or scheduler objects") from None
    tensors = tensors_in(obj)
    missing = [k for k, v in got.model.items()
               if not any(t.shape == v.shape and t.dtype == v.dtype and torch.equal(t, v) for t in tensors)]
    if missing:
        which = "buffers" if all("running" in k or "num_batches" in k for k in missing) else "entries"
        raise Mistake(f"the checkpoint does not hold the model's current {missing[0]!r} ({len(missing)} of its "
                      f"{len(got.model)} state_dict {which} are missing): save model.state_dict(), which "
                      "includes the buffers (BatchNorm's running statistics)")
    flat = [t.reshape(-1).float() for t in tensors if t.is_floating_point()]
    moments = [s[k] for s in got.optimizer.per_param if s for k in ("exp_avg", "exp_avg_sq")]
    found = all(any(t.numel() == m.numel() and torch.equal(t, m) for t in flat) for m in moments)
    expect(found, "the checkpoint does not hold the optimizer's state (Adam's moment estimates): save "
           "optimizer.state_dict() in it too, or training cannot resume where it stopped")


# ---- loading ----

@check("checkpoint", points=2)
def test_model_round_trip(student):
    """load_checkpoint(path, model) alone (no optimizer, scheduler) restores weights and buffers"""
    got = student.run("round_trip")
    if got.error:
        hint = (": restore the optimizer and the scheduler only when they are given (not None)"
                if "'NoneType'" in got.error else "")
        raise _raised(got.error, "load_checkpoint(path, model) with optimizer and scheduler left as None failed",
                      hint)
    saved, loaded, initial = got.saved, got.loaded, got.initial
    wrong = [k for k in saved if not torch.equal(loaded[k], saved[k])]
    if not wrong:
        return
    if all(torch.equal(loaded[k], initial[k]) for k in saved):
        raise Mistake("after load_checkpoint the model still has its own initial weights: load the saved state "
                      "into the model you were given with model.load_state_dict(...) (strict=False with keys "
                      "that do not match silently loads nothing)")
    if all("running" in k or "num_batches" in k for k in wrong):
        raise Mistake(f"load_checkpoint restored the parameters but not the buffers ({', '.join(wrong)}): save and "
                      "load the whole model.state_dict()")
    raise Mistake(f"after load_checkpoint the model's {wrong[0]!r} differs from the saved one ({len(wrong)} of "
                  f"{len(saved)} state_dict entries): restore the model with model.load_state_dict(...)")


@check("checkpoint")
def test_returns_epoch(student):
    """load_checkpoint returns the epoch the checkpoint was saved with (tried with 7 and 0)"""
    calls = student.run("epochs")
    saved = [c.saved for c in calls]
    values = [_number(c.got) for c in calls]
    if values == saved:
        return
    if any(v is None for v in values):
        kind = next(c.got.type for c, v in zip(calls, values) if v is None)
        raise Mistake(f"load_checkpoint returned {'None' if kind == 'NoneType' else 'a ' + kind} instead of the "
                      "saved epoch: store epoch in the checkpoint and return it")
    for delta, word in ((1, "epoch + 1"), (-1, "epoch - 1")):
        if all(v == s + delta for v, s in zip(values, saved)):
            raise Mistake(f"load_checkpoint returned {word} ({values[0]:g} for a checkpoint saved with epoch="
                          f"{saved[0]}): store the epoch given to save_checkpoint and return it unchanged (the "
                          "caller decides where to resume)")
    shown = ", ".join(f"{v:g}" for v in values)
    raise Mistake(f"load_checkpoint returned {shown} for checkpoints saved with epoch={saved[0]} and epoch="
                  f"{saved[1]}: return the epoch given to save_checkpoint")


def _check_resume(got: ResumeTrace, with_scheduler: bool) -> None:
    """Name the first thing that makes the resumed run leave the uninterrupted one."""
    if got.error:
        if got.stage == "save":
            context = "save_checkpoint failed" + ("" if with_scheduler else " without a scheduler (scheduler=None)")
            hint = ("; with no scheduler, leave its state out of the checkpoint (or store None)"
                    if not with_scheduler and "'NoneType'" in got.error else "")
        else:
            context = "load_checkpoint into a fresh model and optimizer failed" + (
                "" if with_scheduler else " (a checkpoint saved without a scheduler, loaded without one)")
            hint = ""
        raise _raised(got.error, context, hint)
    loaded, saved = got.loaded_model, got.saved_model
    wrong = [k for k in saved if k not in loaded or not _same(loaded[k], saved[k])]
    expect(not wrong, f"the resumed run started from the wrong weights: after load_checkpoint the model's "
           f"{wrong[0] if wrong else ''!r} does not hold the saved state ({len(wrong)} of {len(saved)} state_dict "
           "entries differ); restore the whole state with model.load_state_dict(...)")
    want_opt, got_opt = got.opt_at_save, got.loaded_opt
    expect(got_opt.n_state > 0,
           "the resumed run diverged from the uninterrupted one at its first step: after load_checkpoint the "
           "optimizer had no state, so Adam's moment estimates and step count were not saved or not loaded. "
           "Save optimizer.state_dict() and restore it with optimizer.load_state_dict()")
    expect(_same_optimizer(got_opt, want_opt),
           "after load_checkpoint, Adam's state (moment estimates, step count) differs from the one at the moment "
           "of saving: save optimizer.state_dict() and restore it with optimizer.load_state_dict()")
    want_lrs = got.straight.lrs[SAVED_AT + 1:]
    got_lrs = got.resumed.lrs
    if with_scheduler:
        g, w = got.loaded_sched, got.sched_at_save
        if g == w + 1:
            raise Mistake("load_checkpoint stepped the LR scheduler once more after restoring it, so the learning "
                          "rate decays one epoch early: restore it with scheduler.load_state_dict() only")
        expect(g == w, f"after load_checkpoint the LR scheduler is at epoch {g} (last_epoch), but it was at {w} "
               "when the checkpoint was saved: its state was not saved or not loaded, so the learning rate "
               "decays at the wrong epochs. Save scheduler.state_dict() and restore it with "
               "scheduler.load_state_dict()")
    expect(_same(got_opt.lrs, want_opt.lrs),
           f"after load_checkpoint the optimizer's learning rate is {got_opt.lrs[0]:g}, but it was "
           f"{want_opt.lrs[0]:g} when the checkpoint was saved: restore it with optimizer.load_state_dict()")
    if not _same(got_lrs, want_lrs):
        shown = lambda lrs: ", ".join(f"{v:g}" for v in lrs)  # noqa: E731
        raise Mistake(f"after resuming, the learning rate went {shown(got_lrs)} instead of {shown(want_lrs)}: "
                      "restore the optimizer and the LR scheduler from the checkpoint")
    for i, (g, w) in enumerate(zip(got.resumed.params, got.straight.params[SAVED_AT + 1:])):
        expect(_same_state(g, w), f"the resumed run diverged from the uninterrupted one in epoch {SAVED_AT + 1 + i}, "
               "although the model, the optimizer and the scheduler looked restored")


@check("checkpoint", points=2)
def test_resume_adam(student):
    """Training resumed from a checkpoint (Adam, no scheduler) follows the uninterrupted trajectory"""
    _check_resume(student.run("resume", with_scheduler=False), with_scheduler=False)


@check("checkpoint", points=2)
def test_resume_scheduler(student):
    """Resumed training with Adam and StepLR follows the uninterrupted trajectory, learning rates included"""
    _check_resume(student.run("resume", with_scheduler=True), with_scheduler=True)


# ---- map_location ----

@check("device", points=2)
def test_map_location(student):
    """load_checkpoint honours map_location (a checkpoint from another device loads on cpu; 'meta' goes to meta)"""
    got = student.run("foreign_device")
    for how in ("explicit", "default"):
        error = getattr(got, how).error
        if not error:
            continue
        where = "with map_location='cpu'" if how == "explicit" else "with map_location left at its default ('cpu')"
        raise _raised(error, "a checkpoint whose tensors were saved on another device (tagged 'meta' here, as a "
                      f"GPU's are tagged 'cuda:0') failed to load on cpu {where}",
                      ". Pass map_location on to torch.load(path, map_location=map_location, weights_only=True)")
    devices = check_devices(student)
    for device in devices:
        got = student.run("load_onto", device=device)
        if got.error:
            raise _raised(got.error, f"loading into a model on {device} with map_location={device!r} failed")
        wrong = [d for d in got.devices if torch.device(d).type != torch.device(device).type]
        expect(not wrong, f"with map_location={device!r}, load_checkpoint loaded the checkpoint's tensors onto "
               f"{wrong[0] if wrong else ''}: pass map_location on to torch.load (never hard-code a device)")
        if got.loaded is not None:
            expect(_same_state(got.loaded, got.saved),
                   f"after load_checkpoint with map_location={device!r} the model does not hold the saved weights")


# ---- atomic writes ----

WHAT_FAILED = {"torch_save": "torch.save raised after writing half of the file",
               "file_write": "the disk filled up halfway through writing the file"}


@check("checkpoint", points=3)
def test_atomic_save(student):
    """A save that fails halfway never leaves a half-written file at path; an older checkpoint there survives intact"""
    for sc in student.run("atomic"):
        what = WHAT_FAILED[sc.how]
        old, after = sc.old, sc.after
        if sc.older:
            expect(old is not None, "save_checkpoint did not write a file at the path it was given")
            expect(sc.after_exists, f"when saving failed ({what}), the older checkpoint at path was gone: never "
                   f"delete it first; {FIX_ATOMIC}")
            intact = after is not None and after.numel() == old.numel() and torch.equal(after, old)
            if not intact and not _complete(after):
                size = "" if after is None else f" ({after.numel()} bytes)"
                raise Mistake(f"when saving failed ({what}), path was left holding a half-written file{size} and "
                              f"the older checkpoint was lost: {FIX_ATOMIC}")
        elif sc.after_exists and not _complete(after):
            raise Mistake(f"when a first save failed ({what}), a half-written file was left at path: {FIX_ATOMIC}")
        final = sc.final
        replaced = _complete(final) and (old is None or final.numel() != old.numel() or not torch.equal(final, old))
        expect(replaced, "after a failed save, the next save_checkpoint did not put a new, complete checkpoint at "
               "path: os.replace() the temporary file onto path (it replaces an existing file)")
    got = student.run("save_file")
    folder = os.path.dirname(got.path)
    for src, dst in got.moves:
        if dst == got.path and os.path.commonpath([folder, os.path.dirname(src)]) != folder:
            raise Mistake(f"the temporary file was written in another folder ({os.path.basename(os.path.dirname(src))}"
                          ", the system's temporary folder?) and then moved onto path: between two file systems a "
                          "move is a copy, which a failure can leave half-written at path; " + FIX_ATOMIC)
