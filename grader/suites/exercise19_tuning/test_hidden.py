"""Hidden checks for exercise19_tuning.

Random draws are judged by their properties (rates, reproducibility, ranges, distributions,
the selection among what was drawn), never by particular values; every probe seeds what it
controls, so each grading is deterministic.
"""

import itertools
import json
import math
from collections import Counter

import torch

from grader.checks import FLOAT32_SMALL, SCALAR, Mistake, Tolerance, check, close, expect, near
from grader.suites.trusted_side import diagnose_steps, linear_loss_and_grads, mixed_devices, value_of

# the gradient 2·weight·p of an L2 penalty with a small weight: entries far below FLOAT32's atol
PENALTY_GRAD = Tolerance(rtol=1e-4, atol=1e-7)


def _devices(student):
    return ["meta"] + (["cuda"] if student.run("cuda_available") else [])


def _on(seen: str, device: str) -> bool:
    return torch.device(seen).type == torch.device(device).type


# ---- l2_penalty ----

L2_MODELS = {"mlp": "an MLP (Linear, ReLU, Linear, BatchNorm1d, Linear)", "mlp64": "a float64 MLP",
             "tied": "a model whose output layer shares the embedding's weight",
             "none": "a model without weights (one parameter named `shift`)"}


def _l2_cases(student, skip=()):
    cases = [case for case in student.run("l2_cases") if case.case not in skip]
    for case in cases:
        if case.error:
            raise Mistake(f"l2_penalty raised {case.error} on {L2_MODELS[case.case]}")
    return cases


def _l2_value(case) -> float | None:
    r = case.result
    if r.is_tensor:
        return r.values.double().sum().item() if r.values is not None and r.values.numel() == 1 else None
    return float(r.value) if r.type in ("float", "int") else None


def _squares(params: dict, names) -> float:
    return sum(params[n].double().pow(2).sum().item() for n in names)


def _l2_candidates(case) -> dict:
    """Wrong values l2_penalty might return on this case, each with what it says."""
    params, w = case.params, case.weight
    weights = [n for n in params if n.endswith("weight")]
    every = case.all_params  # a shared parameter under each of its names
    right = _squares(params, weights)
    return {
        "decayed every parameter, biases and norm shifts too: only parameters whose name ends in "
        "\"weight\" are decayed": w * _squares(params, params),
        "decayed only the first layer's weight: sum over every parameter whose name ends in \"weight\"":
            w * _squares(params, weights[:1]),
        "counted the shared (tied) weight twice: iterate model.named_parameters(), which yields a shared "
        "parameter once": w * _squares(every, [n for n in every if n.endswith("weight")]),
        "left out the norm layers' scales (1-D parameters named \"weight\"): every parameter whose name "
        "ends in \"weight\" is decayed": w * _squares(params, [n for n in weights if params[n].dim() > 1]),
        "forgot to multiply by `weight`": right,
        "halved the penalty (0.5 × weight × ...): the penalty is weight × the sum of squares": 0.5 * w * right,
        "summed the norms of the weights, not their squares":
            w * sum(params[n].double().norm().item() for n in weights),
    }


@check("api")
def test_l2_api(student):
    """l2_penalty returns a 0-dim tensor in the parameters' dtype (also for a model without weights)"""
    student.expect_api("l2_penalty")
    for case in _l2_cases(student):
        r, where = case.result, L2_MODELS[case.case]
        if not r.is_tensor:
            if r.type in ("float", "int") and case.case == "none":
                raise Mistake(f"l2_penalty returned the Python {r.type} {r.value!r} on {where}: return "
                              "torch.zeros(()) there, a 0-dim tensor like every other penalty")
            if r.type in ("float", "int"):
                raise Mistake(f"l2_penalty returned a Python {r.type} on {where}, not a tensor: .item() or "
                              "float() cut the penalty off from the graph; return the 0-dim tensor "
                              "(torch.zeros(()) when no parameter is a weight)")
            raise Mistake(f"l2_penalty should return a 0-dim tensor, not a {r.type} (on {where})")
        if r.shape:
            raise Mistake(f"l2_penalty returned a tensor of shape {tuple(r.shape)} on {where}: sum everything "
                          "into a 0-dim tensor")
        want = "torch.float64" if case.case == "mlp64" else "torch.float32"
        if r.dtype != want:
            raise Mistake(f"on {where} the penalty is {r.dtype}, not the parameters' dtype {want} (an "
                          "accumulator made with torch.zeros(()) and added to in place keeps its own dtype)")


@check("values", points=2)
def test_l2_values(student):
    """l2_penalty is weight × the sum of squares of the parameters named "...weight" (a shared one once)"""
    for case in _l2_cases(student):
        value, where = _l2_value(case), L2_MODELS[case.case]
        if value is None:
            raise Mistake(f"l2_penalty should return the penalty as a 0-dim tensor, not a "
                          f"{case.result.type} (on {where})")
        params, w = case.params, case.weight
        expected = w * _squares(params, [n for n in params if n.endswith("weight")])
        if near(value, expected, tol=SCALAR):
            continue
        for message, candidate in _l2_candidates(case).items():
            if near(value, candidate, tol=SCALAR) and not near(candidate, expected, tol=SCALAR):
                raise Mistake(f"l2_penalty {message} (on {where} with weight={w}: {value:.6g}, expected "
                              f"{expected:.6g})")
        raise Mistake(f"l2_penalty(model, {w}) is {value:.6g} on {where}, but weight × the sum of squares of "
                      f"the weights is {expected:.6g}")


@check("gradients")
def test_l2_gradients(student):
    """backward through l2_penalty gives each weight 2·weight·p and the other parameters nothing"""
    for case in _l2_cases(student, skip=("none",)):
        r, where, w = case.result, L2_MODELS[case.case], case.weight
        if not r.is_tensor:
            raise Mistake(f"l2_penalty returned a Python {r.type} (on {where}): no gradient can flow back "
                          "from a number; return the tensor so that (loss + penalty).backward() decays the weights")
        if not r.requires_grad:
            raise Mistake(f"l2_penalty returned a tensor detached from the parameters (on {where}): no gradient "
                          "flows back; do not .detach() it, rebuild it with torch.tensor(...), or compute it "
                          "under torch.no_grad()")
        if case.backward_error:
            raise Mistake(f"backward through l2_penalty raised {case.backward_error} (on {where})")
        for name, p in case.params.items():
            got = case.grads[name]
            if name.endswith("weight"):
                want = 2 * w * p
                if got is None or not got.any():
                    raise Mistake(f"no gradient of the penalty reached {name} (on {where}): every parameter "
                                  "whose name ends in \"weight\" is decayed")
                if close(got, 2 * want, tol=PENALTY_GRAD):
                    raise Mistake(f"the gradient of {name} is twice 2·weight·p (on {where}): the shared weight "
                                  "was counted twice; use model.named_parameters(), which yields it once")
                if not close(got, want, tol=PENALTY_GRAD):
                    raise Mistake(f"the gradient of the penalty with respect to {name} is not 2·weight·{name} "
                                  f"(on {where})")
            elif got is not None and got.any():
                raise Mistake(f"the penalty has a gradient with respect to {name} (on {where}): only parameters "
                              "whose name ends in \"weight\" are decayed, not biases or other parameters")


@check("device")
def test_l2_device(student):
    """l2_penalty and its backward run on the parameters' device (meta, and cuda when present)"""
    for device in _devices(student):
        got = student.run("l2_device", device=device)
        if got.error:
            if mixed_devices(got.error):
                raise Mistake(f"l2_penalty raised {got.error} with the model on {device}: a tensor made on "
                              "the default device (cpu), such as an accumulator from torch.zeros(()), met the "
                              "parameters'; start from the first square, or make it on the parameters' device")
            raise Mistake(f"l2_penalty raised {got.error} with the model on {device}")
        if got.device is None:
            raise Mistake(f"l2_penalty returned a {got.type} with the model on {device}, not a tensor there")
        if not _on(got.device, device):
            raise Mistake(f"l2_penalty returned its penalty on {got.device} for a model on {device}: the "
                          "penalty belongs on the parameters' device (an accumulator made with torch.zeros(()) or "
                          "torch.tensor(0.0) sits on cpu; never hard-code a device)")
        if got.backward_error:
            raise Mistake(f"backward through l2_penalty raised {got.backward_error} with the model on {device}")


# ---- Dropout ----

def _where_p(key: str) -> str:
    return "Dropout()" if key == "default" else f"Dropout({key})"


def _train_records(student):
    got = student.run("dropout_train")
    for key, rec in got.items():
        if rec.error:
            raise Mistake(f"{_where_p(key)} raised {rec.error} in train mode")
        if not rec.ok:
            raise Mistake(f"{_where_p(key)} should return a tensor of its input's shape in train mode")
    return got


@check("api")
def test_dropout_api(student):
    """Dropout is an nn.Module that keeps the input's shape and dtype and rejects p outside [0, 1] (ValueError)"""
    student.expect_api("Dropout")
    got = student.run("dropout_api")
    expect(got.error is None, f"Dropout(0.3) raised {got.error}")
    expect(got.is_module, "Dropout should be a torch.nn.Module (class Dropout(nn.Module), calling "
           "super().__init__()), so that model.train() and model.eval() reach it")
    out = got.output
    expect(out.is_tensor, f"Dropout(0.3)(x) should return a tensor, not a {out.type}")
    expect(out.shape == [20, 3, 50], f"Dropout(0.3) turned an input of shape (20, 3, 50) into one of shape "
           f"{tuple(out.shape)}: the output has the input's shape")
    expect(out.dtype == "torch.float64", f"Dropout(0.3) turned a float64 input into {out.dtype}: the "
           "output keeps the input's dtype")
    for p, raised in got.rejects.items():
        if raised != "ValueError":
            raise Mistake(f"Dropout({p}) should raise ValueError at construction (p must lie in [0, 1]), but it "
                          + (f"raised {raised}" if raised else "was accepted"))


@check("values", points=2)
def test_dropout_keep_rate(student):
    """In train mode each element is kept with probability 1 − p (p = 0.5 by default)"""
    for key, rec in _train_records(student).items():
        p = 0.5 if key == "default" else float(key)
        kept, want = rec.kept, 1 - p
        if abs(kept - want) <= 0.01:  # 200,000 elements: one standard deviation is at most 0.0012
            continue
        if key != "default" and abs(kept - p) <= 0.01:
            raise Mistake(f"Dropout({p}) kept {kept:.1%} of the elements in train mode: it keeps each one with "
                          "probability p, but p is the probability of dropping it; keep with probability 1 − p "
                          "(torch.rand_like(x) < 1 - p)")
        if key == "default":
            raise Mistake(f"Dropout() kept {kept:.1%} of the elements in train mode: the default is p = 0.5")
        raise Mistake(f"Dropout({p}) kept {kept:.1%} of 200,000 elements in train mode, expected about {want:.0%}")


@check("values")
def test_dropout_scale(student):
    """Kept elements are scaled by 1/(1 − p); dropped ones are 0"""
    for key, rec in _train_records(student).items():
        p = 0.5 if key == "default" else float(key)
        if not rec.finite:
            raise Mistake(f"{_where_p(key)} returned inf or nan in train mode")
        lo, hi = rec.ratio_min, rec.ratio_max
        if lo is None:
            continue  # nothing kept: the keep rate check says so
        want = 1 / (1 - p)
        if near(lo, want, tol=SCALAR) and near(hi, want, tol=SCALAR):
            continue
        wrong = {"left the kept elements unscaled: divide them by 1 − p (inverted dropout), so that the "
                 "expected output equals the input and eval mode needs no correction": 1.0,
                 "multiplied the kept elements by 1 − p: divide them by it": 1 - p,
                 "divided the kept elements by p: divide them by 1 − p, the keep probability": 1 / p}
        for message, ratio in wrong.items():
            if near(lo, ratio, tol=SCALAR) and near(hi, ratio, tol=SCALAR) and not near(ratio, want, tol=SCALAR):
                raise Mistake(f"{_where_p(key)} {message}")
        raise Mistake(f"{_where_p(key)} scaled the kept elements by {lo:.4g} to {hi:.4g}, expected 1/(1 − p) = "
                      f"{want:.4g}")


@check("values")
def test_dropout_masks(student):
    """A fresh mask at every call, drawn from torch's global generator (torch.manual_seed reproduces it)"""
    got = student.run("dropout_masks")
    expect(not got.errors, f"Dropout(0.5) in train mode: {got.errors[0] if got.errors else ''}")
    masks = got.masks

    def differ(a, b):  # the fraction of positions whose keep/drop differs (about 0.5 for independent masks)
        return (masks[a] != masks[b]).double().mean().item()

    if differ("seed1_again", "next") < 0.25:
        raise Mistake("two calls in a row dropped the same elements: draw a fresh mask at every call (a mask kept "
                      "from an earlier call, or a generator seeded anew at each call, repeats it)")
    if differ("seed1", "seed1_again") > 0 or differ("seed1", "seed1_new_module") > 0:
        raise Mistake("after the same torch.manual_seed the mask differed: draw it from torch's global generator "
                      "(torch.rand_like(x), torch.bernoulli), not from a generator of your own, numpy or random")
    if differ("seed1", "seed2_new_module") < 0.25:
        raise Mistake("torch.manual_seed(1) and torch.manual_seed(2) gave the same mask: draw it from torch's "
                      "global generator, not from a generator of your own with a fixed seed")


def _equal_to_input(rec, x) -> bool:
    out = rec.output
    return out is not None and bool(out.is_tensor) and out.values is not None and out.values.shape == x.shape \
        and torch.equal(out.values, x)


@check("values")
def test_dropout_edge_cases(student):
    """In train mode p = 0 returns the input unchanged and p = 1 all zeros (no division by zero)"""
    got = student.run("dropout_edges")
    x = got.input
    p0, p1 = got.p0, got.p1
    expect(p0.error is None, f"Dropout(0.0) raised {p0.error} in train mode")
    expect(_equal_to_input(p0, x), "Dropout(0.0) changed its input in train mode: with p = 0 nothing is dropped")
    if p1.error:
        if "ZeroDivision" in p1.error:
            raise Mistake(f"Dropout(1.0) divided by zero in train mode ({p1.error}): 1 − p = 0, so when p = 1 "
                          "return zeros (every element is dropped)")
        if "ValueError" in p1.error:
            raise Mistake(f"Dropout(1.0) raised {p1.error}: p = 1 is valid (every element is dropped); only p "
                          "outside [0, 1] is rejected")
        raise Mistake(f"Dropout(1.0) raised {p1.error} in train mode")
    out = p1.output
    expect(out.is_tensor and out.values is not None, "Dropout(1.0) should return a tensor")
    values = out.values
    if not torch.isfinite(values).all():
        raise Mistake("Dropout(1.0) returned nan in train mode: it divided by 1 − p = 0 (0/0); when p = 1 return "
                      "zeros (every element is dropped)")
    expect(values.shape == x.shape and not values.any(), "Dropout(1.0) must drop every element (all zeros)")


@check("modes")
def test_dropout_eval_identity(student):
    """In eval mode Dropout returns its input unchanged"""
    got = student.run("dropout_edges")
    x = got.input
    for key, p in (("eval", 0.5), ("eval_p1", 1.0)):
        rec = getattr(got, key)
        expect(rec.error is None, f"Dropout({p}) raised {rec.error} in eval mode")
        if _equal_to_input(rec, x):
            continue
        values = rec.output.values if rec.output is not None else None
        if values is not None and values.shape == x.shape and (values == 0).any():
            raise Mistake(f"Dropout({p}) dropped elements in eval mode: after model.eval() (self.training is False) "
                          "return the input unchanged")
        raise Mistake(f"Dropout({p}) changed its input in eval mode: return it unchanged")


@check("gradients")
def test_dropout_gradients(student):
    """Gradients flow back through the kept elements only, scaled like them (the forward's own mask)"""
    got = student.run("dropout_grads")
    if got.y is None:
        raise Mistake(f"Dropout(0.3) raised {got.error} in train mode" if got.error else
                      "Dropout(0.3) should return a tensor")
    expect(got.graph, "Dropout's output is not connected to its input, so no gradient flows back: do not "
           "compute it under torch.no_grad() or from x.detach() / x.data")
    expect(got.error is None, f"backward through Dropout's output raised {got.error}")
    expect(got.grad is not None, "no gradient reached Dropout's input")
    x, y, grad = got.x, got.y, got.grad
    if close(grad, y / x, tol=FLOAT32_SMALL):
        return
    if not torch.equal(grad != 0, y != 0):
        raise Mistake("the gradient flows through other elements than the forward kept: apply one mask, drawn once "
                      "per call, and let autograd differentiate x * mask / (1 − p)")
    raise Mistake("the gradient through the kept elements is not their scale 1/(1 − p)")


@check("api")
def test_dropout_own_mask(student):
    """Dropout draws its own mask (torch.nn.Dropout and F.dropout are not used)"""
    got = student.run("dropout_calls")
    if got.dropout_calls:
        raise Mistake(f"Dropout called torch's own dropout ({', '.join(got.dropout_calls)}): the exercise is to "
                      "write it; draw the mask with torch.rand_like or torch.bernoulli")
    expect(got.error is None, f"Dropout(0.3) raised {got.error} in train mode")


@check("device")
def test_dropout_device(student):
    """Dropout makes its mask and output on the input's device (meta, and cuda when present)"""
    what = {"train": "Dropout(0.5) in train mode", "p1": "Dropout(1.0) in train mode",
            "eval": "Dropout(0.5) in eval mode"}
    for device in _devices(student):
        for key, rec in student.run("dropout_device", device=device).items():
            if rec.error:
                if mixed_devices(rec.error):
                    raise Mistake(f"{what[key]} raised {rec.error} with its input on {device}: the mask was made "
                                  "on the default device (cpu); make it on x's device (torch.rand_like(x), "
                                  "torch.zeros_like(x), or device=x.device)")
                if key == "train":  # other errors of the edge cases are the edge-case checks' to name
                    raise Mistake(f"{what[key]} raised {rec.error} with its input on {device}")
                continue
            if rec.device is None:
                if key == "train":
                    raise Mistake(f"{what[key]} should return a tensor")
                continue
            if not _on(rec.device, device):
                raise Mistake(f"{what[key]} returned its output on {rec.device} for an input on {device}: make "
                              "new tensors on x's device (torch.zeros_like(x), device=x.device)")


# ---- train_with_schedule ----

def _schedule(student):
    return student.run("schedule_trace")


def _n_batches(got) -> int:
    return math.ceil(len(got.X) / got.batch_size)


@check("api")
def test_schedule_api(student):
    """train_with_schedule returns a list of `epochs` Python floats"""
    student.expect_api("train_with_schedule")
    for call in _schedule(student).calls:
        epochs = call.epochs
        if call.type == "NoneType":
            raise Mistake("train_with_schedule returned None: return the list of the epochs' mean losses")
        expect(call.type == "list", f"train_with_schedule should return a list, not a {call.type}")
        expect(len(call.result) == epochs, f"train_with_schedule(..., epochs={epochs}) returned "
               f"{len(call.result)} values: one mean loss per epoch")
        for num in call.result:
            if num.type == "tensor":
                raise Mistake("train_with_schedule returned the epochs' losses as tensors, not Python floats: use "
                              "loss.item()")
            expect(num.type == "float", f"train_with_schedule should return Python floats, not {num.type}")


@check("values", points=2)
def test_schedule_lr(student):
    """scheduler.step() runs once per epoch, after its optimizer steps, continuing the scheduler it is given"""
    got = _schedule(student)
    lr0, gamma, nb = got.lr, got.gamma, _n_batches(got)
    steps = got.steps
    expect(steps, "train_with_schedule never called step() of the optimizer it was given: train with that "
           "optimizer and step that scheduler, never new ones")
    decays = [round(math.log(lr0 / s.lr) / math.log(1 / gamma)) if s.lr > 0 else -1 for s in steps]
    epoch_of = [s.batch // nb for s in steps]  # the global epoch of the batch each step follows
    ends, total = [], 0
    for call in got.calls:
        total += call.epochs
        ends.append(total)
    if decays == epoch_of and [c.scheduler_steps for c in got.calls] == ends:
        return
    if all(d == 0 for d in decays) and got.calls[-1].scheduler_steps == 0:
        raise Mistake(f"train_with_schedule never called scheduler.step(): the learning rate stayed {lr0} "
                      "throughout; call it once at the end of every epoch")
    if decays == list(range(len(decays))) or decays == list(range(1, len(decays) + 1)):
        raise Mistake("train_with_schedule stepped the scheduler after every batch, so the learning rate changed "
                      "within each epoch: call scheduler.step() once per epoch, after the epoch's batches")
    if decays == [e + 1 for e in epoch_of]:
        raise Mistake("train_with_schedule called scheduler.step() at the start of each epoch, before its "
                      "optimizer steps: the first epoch already ran with the decayed learning rate; call it at "
                      "the end of the epoch")
    restarted = [e if e < ends[0] else e - ends[0] for e in epoch_of]
    if decays == restarted:
        raise Mistake("the second call of train_with_schedule started again from the initial learning rate: "
                      "continue with the optimizer and scheduler you are given, never create or reset them")
    shown = ", ".join(f"{lr0 * gamma ** d:.3g}" for d in decays[::nb])
    want = ", ".join(f"{lr0 * gamma ** e:.3g}" for e in range(ends[-1]))
    raise Mistake(f"the learning rates of the epochs were {shown}, expected {want} (StepLR halving it at every "
                  f"scheduler.step()); the scheduler was stepped {got.calls[-1].scheduler_steps} times in "
                  f"{ends[-1]} epochs")


@check("gradients", points=2)
def test_schedule_steps(student):
    """Every batch makes one optimizer step on the fresh gradients of its loss (zero_grad, backward, step)"""
    got = _schedule(student)
    nb, bs, forwards = _n_batches(got), got.batch_size, got.forwards
    epochs = sum(c.epochs for c in got.calls)
    expect(len(forwards) == nb * epochs, f"the model ran {len(forwards)} times in {epochs} epochs of {nb} batches: "
           "one forward pass per batch")
    X, y = got.X, got.y
    batches = [(X[i:i + bs], y[i:i + bs]) for i in range(0, len(X), bs)]
    true = [linear_loss_and_grads(f.params, *batches[i % nb])[1] for i, f in enumerate(forwards)]
    steps = [[s.grads for s in got.steps if s.batch == i] for i in range(len(forwards))]
    message = diagnose_steps("train_with_schedule", "batch", steps, true, None,
                             "zero_grad, loss_fn(model(inputs), targets), backward, step")
    expect(message is None, message)


@check("values")
def test_schedule_losses(student):
    """Each epoch's value is the mean of that epoch's per-batch losses"""
    got = _schedule(student)
    nb, losses = _n_batches(got), got.losses
    epochs = sum(c.epochs for c in got.calls)
    expect(len(losses) == nb * epochs, f"loss_fn was called {len(losses)} times in {epochs} epochs of {nb} "
           "batches: compute each batch's loss once and use that value")
    sizes = [min(got.batch_size, len(got.X) - i) for i in range(0, len(got.X), got.batch_size)]
    done = 0
    for call in got.calls:
        values = call.result or []
        expect(len(values) == call.epochs, f"train_with_schedule(..., epochs={call.epochs}) should return "
               "one mean loss per epoch")
        for k, num in enumerate(values):
            value = value_of(num, "train_with_schedule", "list of the epochs' mean losses")
            epoch = losses[(done + k) * nb:(done + k + 1) * nb]
            mean = sum(epoch) / nb
            if near(value, mean, tol=SCALAR):
                continue
            so_far = losses[done * nb:(done + k + 1) * nb]
            candidates = {
                "summed the epoch's batch losses: divide by the number of batches": sum(epoch),
                "returned the epoch's last batch loss, not the mean over its batches": epoch[-1],
                "weighted each batch's loss by its size: return the plain mean of the per-batch losses":
                    sum(v * s for v, s in zip(epoch, sizes)) / sum(sizes),
                "never reset its running total between epochs: start each epoch from zero":
                    sum(so_far) / len(so_far),
                "never reset its running sum between epochs and returned it": sum(so_far),
            }
            for message, candidate in candidates.items():
                if near(value, candidate, tol=SCALAR) and not near(candidate, mean, tol=SCALAR):
                    raise Mistake(f"train_with_schedule {message} (epoch {k}: {value:.5f}, expected {mean:.5f})")
            raise Mistake(f"train_with_schedule returned {value:.5f} for epoch {k}, but the mean of its per-batch "
                          f"losses is {mean:.5f}")
        done += call.epochs


@check("modes")
def test_schedule_train_mode(student):
    """train_with_schedule trains in train mode (the model was handed over in eval mode)"""
    modes = [f.training for f in _schedule(student).forwards]
    expect(modes, "train_with_schedule never ran the model")
    expect(all(modes), "train_with_schedule trained a model left in eval mode: call model.train() (at the start of "
           "every epoch, if you evaluate in between), so that dropout and batch norm behave as in training")


@check("device")
def test_schedule_device(student):
    """train_with_schedule leaves the batches on their device (meta, and cuda when present)"""
    for device in _devices(student):
        got = student.run("schedule_device", device=device)
        for what, seen in (("inputs", got.inputs), ("targets", got.targets)):
            wrong = [d for d in seen if not _on(d, device)]
            if wrong:
                raise Mistake(f"train_with_schedule moved the {what} to {wrong[0]}, but the model and the batches "
                              f"are on {device}: leave each batch where the loader puts it (never hard-code a device)")
        if got.error:
            if mixed_devices(got.error):
                raise Mistake(f"train_with_schedule raised {got.error} with the model and the batches on "
                              f"{device}: a tensor made on the default device (cpu) met theirs; never hard-code a "
                              "device")
            raise Mistake(f"train_with_schedule raised {got.error} with the model and the batches on {device}")
        expect(got.inputs, f"train_with_schedule never ran the model (on {device})")


# ---- grid_search and random_search ----

def _key(config) -> str:
    return json.dumps(config, sort_keys=True)


def _result_shape(rec, who: str, where: str) -> None:
    """A Mistake unless `rec` (what the probe saw returned) is (dict, list of (dict, number))."""
    if rec.error:
        raise Mistake(f"{who} raised {rec.error} {where}")
    if not rec.pair:
        raise Mistake(f"{who} should return a pair (best config, history), not a {rec.type}")
    if not isinstance(rec.best, dict):
        if rec.best == "<list>" and rec.history_type == "dict":
            raise Mistake(f"{who} returned (history, best config): the pair is (best config, history)")
        raise Mistake(f"{who}'s best config should be a dict, not {rec.best}")
    if rec.history_type != "list":
        raise Mistake(f"{who}'s history should be a list of (config, loss) pairs, not a {rec.history_type}")
    for entry in rec.history:
        if not isinstance(entry.config, dict):
            raise Mistake(f"each entry of {who}'s history should be a (config dict, loss) pair")
        if entry.loss.value is None:
            raise Mistake(f"the loss in each entry of {who}'s history should be the number the objective returned, "
                          f"not a {entry.loss.type}")


def _history(rec) -> list:
    return [(e.config, e.loss.value) for e in rec.history]


def _calls(rec) -> list:
    return [(c.config, c.loss) for c in rec.calls]


def _same_history(a: list, b: list) -> bool:
    return len(a) == len(b) and all(ca == cb and near(la, lb, tol=SCALAR) for (ca, la), (cb, lb) in zip(a, b))


def _history_mistake(rec, who: str, trials: list) -> str:
    """What is wrong with a history that is not `trials` (the (config, loss) of every trial, in order)."""
    history = _history(rec)
    if len(history) > 1 and rec.distinct_dicts == 1:
        return (f"every entry of {who}'s history holds the same dict, changed in place trial after trial: build a "
                "new config dict for each trial")
    if sorted(map(_key, (c for c, _ in history))) == sorted(map(_key, (c for c, _ in trials))):
        by_loss = sorted(trials, key=lambda t: t[1])
        if _same_history(history, by_loss) or _same_history(history, by_loss[::-1]):
            return f"{who} sorted the history by loss: keep it in trial order"
        if _same_history(history, trials[::-1]):
            return f"{who}'s history is in reverse trial order"
        return f"{who}'s history lists the trials out of order: append each (config, loss) as it is tried"
    return f"{who}'s history does not list the (config, loss) of every trial, in trial order"


def _best_mistake(rec, who: str) -> str | None:
    """What is wrong with the best config, judged among the trials made (first occurrences)."""
    trials, seen = [], set()
    for config, loss in _calls(rec):
        if _key(config) not in seen:
            seen.add(_key(config))
            trials.append((config, loss))
    if not trials:
        return f"{who} never called the objective"
    lowest = min(loss for _, loss in trials)
    first = next(c for c, loss in trials if loss == lowest)
    best = rec.best
    if best == first:
        return None
    losses = {_key(c): loss for c, loss in trials}
    if _key(best) not in losses:
        return f"{who} returned {best} as the best config, which is not one of the configs it tried"
    if losses[_key(best)] == max(losses.values()):
        return (f"{who} picked the config of the highest loss: the objective is a validation loss, lower is "
                "better")
    tied = [c for c, loss in trials if loss == lowest]
    if best == tied[-1]:
        return (f"{who} picked the last of the configs tied at the lowest loss: keep the first (replace the best "
                "only on a strictly lower loss)")
    return f"{who} picked {best} (loss {losses[_key(best)]:g}), but {first} has the lowest loss ({lowest:g})"


@check("api")
def test_grid_api(student):
    """grid_search returns (best config, history): a dict and a list of (config, loss) pairs"""
    student.expect_api("grid_search")
    for rec in student.run("grid_trace").values():
        _result_shape(rec, "grid_search", f"on the grid {rec.grid}")


@check("values", points=2)
def test_grid_trials(student, reference):
    """The objective is called once per combination, in itertools.product order of the sorted names"""
    got, want = student.run("grid_trace"), reference.run("grid_trace")
    for name, rec in got.items():
        if rec.error:
            raise Mistake(f"grid_search raised {rec.error} on the grid {rec.grid}")
        grid = rec.grid
        tried, expected = [c.config for c in rec.calls], [c.config for c in want[name].calls]
        if tried == expected:
            continue
        counts, wanted = Counter(map(_key, tried)), Counter(map(_key, expected))
        shown = {_key(c): c for c in tried + expected}
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise Mistake(f"grid_search tried {shown[repeated[0]]} {counts[repeated[0]]} times on the grid {grid}: "
                          "try each combination exactly once (calling the objective again to find the best "
                          "repeats trials; keep the losses you got)")
        if missing := list(wanted - counts):
            raise Mistake(f"grid_search never tried {shown[missing[0]]} on the grid {grid}: try every combination "
                          "(itertools.product of the value lists, not zip)")
        if extra := list(counts - wanted):
            raise Mistake(f"grid_search tried {shown[extra[0]]}, which is not a combination of the grid {grid}")
        own_order = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
        if tried == own_order:
            raise Mistake(f"grid_search tried the combinations of {grid} in the grid's own key order: the order is "
                          "itertools.product over the names sorted alphabetically (sorted(grid))")
        raise Mistake(f"grid_search tried the combinations of {grid} out of order: itertools.product over the "
                      "names sorted alphabetically")


@check("values")
def test_grid_history(student, reference):
    """The history lists the (config, loss) of every trial, in trial order"""
    got, want = student.run("grid_trace"), reference.run("grid_trace")
    for name, rec in got.items():
        _result_shape(rec, "grid_search", f"on the grid {rec.grid}")
        history = _history(rec)
        if _same_history(history, _history(want[name])) or _same_history(history, _calls(rec)):
            continue
        raise Mistake(_history_mistake(rec, "grid_search", _calls(want[name])) + f" (grid {rec.grid})")


@check("values")
def test_grid_best(student):
    """The best config has the lowest loss among the trials, the first such on ties"""
    for rec in student.run("grid_trace").values():
        _result_shape(rec, "grid_search", f"on the grid {rec.grid}")
        message = _best_mistake(rec, "grid_search")
        expect(message is None, f"{message} (grid {rec.grid})")


def _random(student, n_trials=12, seed=3, global_seed=11):
    return student.run("random_trace", n_trials=n_trials, seed=seed, global_seed=global_seed)


@check("api")
def test_random_api(student):
    """random_search returns (best config, history) like grid_search"""
    student.expect_api("random_search")
    _result_shape(_random(student), "random_search", "(12 trials)")


@check("values")
def test_random_calls(student):
    """The objective is called exactly n_trials times, and the history has n_trials entries"""
    for n in (1, 5, 12):
        rec = _random(student, n_trials=n)
        if rec.error:
            raise Mistake(f"random_search raised {rec.error} with n_trials={n}")
        calls = len(rec.calls)
        if calls != n:
            hint = (" (range(n_trials) runs exactly n_trials times)" if abs(calls - n) == 1 else
                    " (calling the objective again to find the best repeats trials; keep the losses you got)"
                    if calls > n else "")
            raise Mistake(f"random_search(n_trials={n}) called the objective {calls} times: exactly n_trials"
                          + hint)
        expect(isinstance(rec.history, list), f"random_search(n_trials={n}) returned no history list (see the "
               "api check)")
        length = len(rec.history)
        expect(length == n, f"random_search(n_trials={n}) returned a history of {length} entries: one per trial")


@check("values")
def test_random_seed(student):
    """The same seed draws the same configs whatever the global seed, another seed others; seed defaults to 0"""
    def configs(**kw):
        rec = _random(student, **kw)
        if rec.error:
            raise Mistake(f"random_search raised {rec.error}")
        return [c.config for c in rec.calls]

    base = configs(seed=3, global_seed=11)
    if configs(seed=3, global_seed=22) != base:
        raise Mistake("random_search drew other configs with the same seed after another torch.manual_seed: draw from "
                      "a generator seeded with `seed` (torch.Generator().manual_seed(seed)), not the global one")
    if configs(seed=4, global_seed=11) == base:
        raise Mistake("random_search drew the same configs with seed=3 and seed=4: it ignores the seed; seed the "
                      "generator with it")
    if configs(seed=None, global_seed=11) != configs(seed=0, global_seed=11):
        raise Mistake("random_search without a seed drew other configs than with seed=0: the default seed is 0")


def _draws(student):
    got = student.run("random_draws")
    expect(got.error is None, f"random_search raised {got.error} (2000 trials)")
    return got


def _valid(value, spec) -> bool:
    if spec.choices is not None:
        return any(value == c and type(value) is type(c) for c in spec.choices)
    # float32 arithmetic may round a draw just past a bound: allow a relative 1e-6
    return type(value) in (int, float) and spec.low * (1 - 1e-6) <= value <= spec.high * (1 + 1e-6)


@check("values")
def test_random_ranges(student):
    """Every drawn value lies in its range [low, high] or is one of its choices"""
    got = _draws(student)
    for name, spec in got.space.items():
        bad = [v for v in got.columns[name] if not _valid(v, spec)]
        if not bad:
            continue
        if spec.choices is not None:
            index = isinstance(bad[0], int) and 0 <= bad[0] < len(spec.choices)
            raise Mistake(f"random_search set {name} to {bad[0]!r}, which is not one of its choices "
                          f"{spec.choices}" + (": that is an index; use the choice itself, choices[i]"
                                               if index else ""))
        raise Mistake(f"random_search set {name} to {bad[0]!r}, outside its {spec.scale} range "
                      f"[{spec.low:g}, {spec.high:g}]")


def _ks(u: list) -> float:
    """Kolmogorov-Smirnov distance between the sample u and the uniform distribution on [0, 1]."""
    u, n = sorted(u), len(u)
    return max(max((i + 1) / n - v, v - i / n) for i, v in enumerate(u))


@check("values", points=2)
def test_random_distributions(student):
    """Choices are drawn uniformly, "log" ranges log-uniformly and "linear" ranges uniformly"""
    got = _draws(student)
    for name, spec in got.space.items():
        values = got.columns[name]
        n = len(values)
        if not values or not all(_valid(v, spec) for v in values):
            continue  # out of range: the ranges check says so
        if spec.choices is not None:
            k = len(spec.choices)
            for choice in spec.choices:
                share = sum(1 for v in values if v == choice and type(v) is type(choice)) / n
                if abs(share - 1 / k) > 0.06:  # 2000 trials: one standard deviation is about 0.011
                    raise Mistake(f"random_search drew {name} = {choice!r} in {share:.1%} of {n} trials, expected "
                                  f"about {1 / k:.0%}: pick each choice with equal probability (torch.randint's "
                                  "upper bound is exclusive: len(choices))")
            continue
        lo, hi = spec.low, spec.high
        linear = [(v - lo) / (hi - lo) for v in values]
        log = [(math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) for v in values]
        judged, other = (log, linear) if spec.scale == "log" else (linear, log)
        distance = _ks(judged)
        if distance <= 0.08:  # 2000 draws: a correct sampler exceeds this with probability about 1e-11
            continue
        if spec.scale == "log" and _ks(other) <= 0.08:
            raise Mistake(f"random_search drew {name}, a \"log\" range [{lo:g}, {hi:g}], uniformly: nearly every draw "
                          "lands in the top decade; draw its logarithm uniformly (exp(uniform(log low, log high)))")
        if spec.scale == "linear" and _ks(other) <= 0.08:
            raise Mistake(f"random_search drew {name}, a \"linear\" range, log-uniformly: draw it uniformly in "
                          "[low, high]")
        raise Mistake(f"random_search's draws of {name} are not {spec.scale}-uniform over [{lo:g}, {hi:g}] "
                      f"(Kolmogorov-Smirnov distance {distance:.2f} over {n} draws)")


@check("values")
def test_random_selection(student):
    """The history lists every trial's (config, loss) in order; the best is the first of lowest loss"""
    rec = _random(student)
    _result_shape(rec, "random_search", "(12 trials)")
    history, calls = _history(rec), _calls(rec)
    if not (history and _same_history(history, calls[:len(history)])):
        raise Mistake(_history_mistake(rec, "random_search", calls[:len(history)] or calls))
    message = _best_mistake(rec, "random_search")
    expect(message is None, message)
    draws = _draws(student)  # 2000 trials whose losses all tie
    first = {name: values[0] for name, values in draws.columns.items()} if draws.calls else None
    if draws.best != first:
        raise Mistake("with every loss tied, random_search did not return the first trial's config as the best: "
                      "keep the first of the configs tied at the lowest loss (replace the best only on a "
                      "strictly lower loss)")
