"""Hidden checks for exercise03_training_loop."""

import torch
import torch.nn.functional as F

from grader.checks import FLOAT32_SMALL, LOSS, ROUNDING, SCALAR, Mistake, check, close, expect, near
from grader.suites.trusted_side import (check_devices, diagnose_steps, graph_mistake, linear_loss_and_grads,
                                       loss_after_step, mixed_devices, value_of)
from grader.suites.exercise03_training_loop.probes import epoch_batches, step_batches

# ---- trusted helpers ----

def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32_SMALL)


def _steps_message(who, batches, params_before, steps, grads_after=None):
    true = [linear_loss_and_grads(p, x, y)[1] for p, (x, y) in zip(params_before, batches)]
    return diagnose_steps(who, "batch", steps, true, grads_after,
                          "compute loss_fn(model(inputs), targets), call backward on it, then step")


def _device_error(got, who: str, device: str):
    """A Mistake for an error the probe caught on `device`: tensors on two devices met (or, off meta,
    any error); on meta other errors are value reads, which only meta cannot serve."""
    error = got.error
    if mixed_devices(error):
        raise Mistake(f"{who} raised {error} with the model on {device}: a tensor it made on another device "
                      "(the default, cpu) met the model's; create every tensor on `device` (device=..., or "
                      "torch.zeros_like / x.new_zeros) and never hard-code a device")
    if error and device != "meta":
        raise Mistake(f"{who} raised {error} with the model on {device}")


def _check_devices(student, probe: str, who: str, moved: str = "move every batch with inputs.to(device)"):
    for device in check_devices(student):
        got = student.run(probe, device=device)
        if not got.inputs:
            _device_error(got, who, device)
            raise Mistake(f"{who} never ran the model on the batches"
                          + (f" (it raised {got.error} first)" if got.error else ""))
        wrong = [d for d in got.inputs if torch.device(d).type != torch.device(device).type]
        if wrong:
            raise Mistake(f"{who} passed the inputs to the model on {wrong[0]}, not on {device} where the model "
                          f"is: {moved} (never hard-code a device)")
        if not got.targets:
            _device_error(got, who, device)
            raise Mistake(f"{who} never called loss_fn")
        wrong = [d for d in got.targets if torch.device(d).type != torch.device(device).type]
        if wrong:
            raise Mistake(f"{who} moved the inputs but passed the targets to loss_fn on {wrong[0]}, not on "
                          f"{device} where the model is: move the targets too (targets.to(device))")
        _device_error(got, who, device)


# ---- api ----

@check("api")
def test_api(student):
    """train_step, train_epoch and evaluate exist with the README's signatures; evaluate returns a pair"""
    student.expect_api()
    step = student.run("train_step_trace").calls[0].loss
    expect(step.type != "NoneType", "train_step returned None: return the loss")
    expect(step.value is not None, f"train_step should return the loss (a float), not a {step.type}")
    epoch = student.run("train_epoch_trace").result
    expect(epoch.type != "NoneType", "train_epoch returned None: return the mean loss")
    expect(epoch.value is not None, f"train_epoch should return the mean loss (a float), not a {epoch.type}")
    ev = student.run("evaluate_trace")
    expect(ev.length == 2, f"evaluate should return a pair (loss, accuracy), not a {ev.type}"
           + (f" of length {ev.length}" if ev.length is not None else ""))


@check("api")
def test_returns_floats(student):
    """train_step, train_epoch and evaluate return Python floats, not tensors"""
    ev = student.run("evaluate_trace")
    found = [("train_step", "the loss", student.run("train_step_trace").calls[0].loss),
             ("train_epoch", "the mean loss", student.run("train_epoch_trace").result),
             ("evaluate", "the loss", ev.loss), ("evaluate", "the accuracy", ev.accuracy)]
    for who, what, num in found:
        if num is None or num.type == "float":
            continue
        if num.type == "tensor":
            graph = " (and it still carries the autograd graph)" if num.requires_grad else ""
            raise Mistake(f"{who} returned {what} as a tensor{graph}, not a Python float: use .item()")
        raise Mistake(f"{who} should return {what} as a Python float, not a {num.type}")


# ---- train_step ----

@check("gradients", points=2)
def test_train_step_gradients(student, reference):
    """train_step steps once, on the fresh gradients of this batch's loss (zero_grad, backward, step in order)"""
    got = student.run("train_step_trace").calls
    want = reference.run("train_step_trace").calls
    ok = (all(len(g.steps) == 1 for g in got)
          and all(_same(g.steps[0], w.steps[0]) for g, w in zip(got, want))
          and all(_same(g.params_after, w.params_after) for g, w in zip(got, want)))
    if ok:
        return
    message = _steps_message("train_step", step_batches(), [g.params_before for g in got],
                             [g.steps for g in got], [g.grads_after for g in got])
    raise Mistake(message or "the parameters after train_step differ from one optimizer step on this "
                  "batch's loss")


@check("values")
def test_train_step_loss(student):
    """train_step returns the batch's loss, computed before the step"""
    got = student.run("train_step_trace").calls
    for call, (x, y) in zip(got, step_batches()):
        value = value_of(call.loss, "train_step")
        before, _ = linear_loss_and_grads(call.params_before, x, y)
        if near(value, before, tol=LOSS):
            continue
        after, _ = linear_loss_and_grads(call.params_after, x, y)
        raise Mistake(loss_after_step("train_step", value, after, before)
                      or f"train_step returned {value:.5f}, but loss_fn(model(inputs), targets) for that "
                      f"batch is {before:.5f}")


# ---- train_epoch ----

@check("values", points=2)
def test_train_epoch_values(student, reference):
    """train_epoch makes one step per batch and returns the mean of the per-batch losses"""
    got = student.run("train_epoch_trace")
    want = reference.run("train_epoch_trace")
    batches = epoch_batches()
    if not _same(got.params_after, want.params_after):
        n_fwd = len(got.forwards)
        if n_fwd != len(batches):
            raise Mistake(f"train_epoch ran the model {n_fwd} times, but the loader has {len(batches)} "
                          "batches: one forward pass and one step per batch")
        steps = [[s.grads for s in got.steps if s.batch == i] for i in range(len(batches))]
        message = _steps_message("train_epoch", batches, [f.params for f in got.forwards], steps)
        raise Mistake(message or "the parameters after one epoch differ from one optimizer step per batch "
                      "on that batch's loss")
    value = value_of(got.result, "train_epoch")
    expected = value_of(want.result, "the reference's train_epoch")
    if near(value, expected, tol=SCALAR):
        return
    losses, sizes = want.losses, want.loss_sizes
    candidates = {
        "returned the last batch's loss, not the mean over all batches": losses[-1],
        "returned the sum of the per-batch losses: divide by the number of batches": sum(losses),
        "weighted each batch's loss by its size; train_epoch returns the plain mean of the per-batch "
        "losses (weighting by size is for evaluate)": sum(l * s for l, s in zip(losses, sizes)) / sum(sizes),
        "returned the first batch's loss, not the mean over all batches": losses[0],
    }
    for message, candidate in candidates.items():
        if near(value, candidate, tol=SCALAR):
            raise Mistake(f"train_epoch {message}")
    calls = len(got.losses)
    extra = (f" (loss_fn was called {calls} times for {len(batches)} batches: use the loss of the forward "
             "pass each step was made from)" if calls != len(batches) else "")
    raise Mistake(f"train_epoch returned {value:.5f}, but the mean of the per-batch losses is "
                  f"{expected:.5f}{extra}")


@check("device")
def test_train_step_device(student):
    """train_step runs where the model and the batch are (meta, and cuda when present), moving nothing elsewhere"""
    _check_devices(student, "train_step_device", "train_step",
                   "leave the batch where it is (on the model's device) and never move it to a fixed one")


@check("modes")
def test_train_epoch_train_mode(student):
    """train_epoch puts the model in train mode (it was handed over in eval mode)"""
    got = student.run("train_epoch_trace")
    modes = [f.training for f in got.forwards]
    expect(modes, "train_epoch never ran the model")
    expect(all(modes), "train_epoch left the model in eval mode (it was given one in eval mode): call "
           "model.train() at the start of the epoch, so dropout and batch norm behave as in training")


@check("device", points=2)
def test_train_epoch_device(student):
    """train_epoch moves inputs and targets of every batch to `device` (meta, and cuda when present)"""
    _check_devices(student, "train_epoch_device", "train_epoch")


@check("loss-decrease")
def test_loss_decrease(student):
    """A few epochs of train_epoch reduce the loss on a small classification task"""
    got = student.run("learn")
    losses = [value_of(n, "train_epoch") for n in got.losses]
    expect(got.final_loss < 0.5 * losses[0] and got.accuracy >= 0.9,
           f"training made little progress: the epoch loss went from {losses[0]:.3f} to {losses[-1]:.3f} "
           f"and the accuracy reached only {got.accuracy:.2f}")


# ---- evaluate ----

def _eval_batches(got):
    bs = got.batch_size
    n = len(got.targets)
    return [(got.logits[i:i + bs], got.targets[i:i + bs]) for i in range(0, n, bs)]


def _evaluate_value(student, reference, key):
    """evaluate's `key` ("loss" or "accuracy"): the submission's, the reference's, and the reference's trace."""
    got = student.run("evaluate_trace")
    want = reference.run("evaluate_trace")
    expect(got.length == 2, "evaluate should return a pair (loss, accuracy)")
    return value_of(getattr(got, key), f"evaluate's {key}"), getattr(want, key).value, want


@check("values")
def test_evaluate_loss(student, reference):
    """evaluate's loss is averaged over samples (each batch's mean loss weighted by its size)"""
    value, expected, want = _evaluate_value(student, reference, "loss")
    if near(value, expected, tol=SCALAR):
        return
    per_batch = [F.cross_entropy(lg, t).item() for lg, t in _eval_batches(want)]
    if near(value, sum(per_batch) / len(per_batch), tol=SCALAR):
        raise Mistake("evaluate averaged the loss per batch, not per sample: with an uneven last batch, "
                      "weight each batch's mean loss by its size and divide by the number of samples")
    raise Mistake(f"evaluate's loss is {value:.5f}, but the loss averaged over samples is {expected:.5f}")


@check("values")
def test_evaluate_accuracy(student, reference):
    """evaluate's accuracy is the fraction of samples whose argmax over dim 1 equals the target"""
    value, expected, want = _evaluate_value(student, reference, "accuracy")
    if near(value, expected, tol=ROUNDING):
        return
    batches = _eval_batches(want)
    n = len(want.targets)
    candidates = {
        "averaged the accuracy per batch, not per sample: count the correct samples over all batches "
        "and divide by the number of samples": [
            sum((lg.argmax(1) == t).float().mean().item() for lg, t in batches) / len(batches)],
        "took the argmax over the wrong dimension (dim 0, or no dim at all): the classes are dim 1, "
        "so compare outputs.argmax(dim=1) with the targets": [
            sum((lg.argmax(0) == t).sum().item() for lg, t in batches) / n,
            sum((lg.argmax(0) == t).float().mean().item() for lg, t in batches) / len(batches),
            sum((lg.argmax() == t).sum().item() for lg, t in batches) / n,
            sum((lg.argmax() == t).float().mean().item() for lg, t in batches) / len(batches)],
        "returned a percentage; the accuracy is a fraction between 0 and 1": [100 * expected],
    }
    for message, values in candidates.items():
        if any(near(value, c, tol=ROUNDING) for c in values):
            raise Mistake(f"evaluate {message}")
    raise Mistake(f"evaluate's accuracy is {value:.4f}, but {expected:.4f} of the samples have "
                  "argmax(dim=1) equal to their target")


@check("modes")
def test_evaluate_eval_mode(student):
    """evaluate puts the model in eval mode (it was handed over in train mode)"""
    got = student.run("evaluate_trace")
    expect(got.training, "evaluate never ran the model")
    expect(not any(got.training), "evaluate ran the model in train mode: call model.eval() first, so "
           "dropout is off and batch norm uses its running statistics")


@check("modes")
def test_evaluate_no_graph(student):
    """evaluate records no autograd graph (runs under torch.no_grad())"""
    got = student.run("evaluate_trace")
    expect(got.facts, "evaluate never ran the model")
    message = graph_mistake(got.facts, "evaluate")
    expect(message is None, message)


@check("device")
def test_evaluate_device(student):
    """evaluate moves inputs and targets of every batch to `device` (meta, and cuda when present)"""
    _check_devices(student, "evaluate_device", "evaluate")
