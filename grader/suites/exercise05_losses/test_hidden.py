"""Hidden checks for exercise05_losses."""

import torch
import torch.nn.functional as F

from grader.checks import FLOAT32, FLOAT32_SMALL, Mistake, Tolerance, check, close, expect, expect_close
from grader.suites.trusted_side import expect_device_runs, tensor_of

DELTAS = (0.5, 1.0, 2.0)
HUBER = [[d, None] for d in DELTAS] + [[1.0, [4, 6]]]  # [delta, shape]: one probe run for all
GAMMAS = [0.0, 0.5, 1.0, 2.0, 3.5]
HUGE_GAMMAS = [2.0, 0.0]
CASES = ["random", "all", "one", "3d"]
# float32 holds logits of magnitude 1e4 only to ~1e-3, so correct losses differ by that much
HUGE_LOSS = Tolerance(rtol=1e-3, atol=1e-3)
# the same rounding in d loss / d logits for logits of magnitude 1e4
HUGE_GRAD = Tolerance(rtol=1e-3, atol=5e-4)


def _expect_loss(got, want, what, diagnosis, differs):
    """The loss in `got` (a 0-dim tensor, `what`) equals the reference's in `want`, or a Mistake:
    what `diagnosis()` names, else `differs` followed by both values."""
    loss = tensor_of(got.loss, what, shape=[])
    if close(loss, want.loss.values):
        return
    raise Mistake(diagnosis() or f"{differs} ({loss.item():.6g} instead of {want.loss.values.item():.6g})")


def _huber(runner, delta, shape=None):
    return runner.run("huber_all", configs=HUBER)[HUBER.index([delta, shape])]


def _focal(runner, gamma):
    return runner.run("focal_all", gammas=GAMMAS)[GAMMAS.index(gamma)]


def _huge(runner, gamma):
    return runner.run("focal_all", gammas=HUGE_GAMMAS, kind="huge")[HUGE_GAMMAS.index(gamma)]


def _masked(runner, case):
    if case == "none":
        return runner.run("masked_call", case="none")
    return runner.run("masked_all", cases=CASES)[CASES.index(case)]
NO_GRAPH = ("the loss does not carry a graph back to its input: build it from the input with torch "
            "operations (no .item(), .detach(), .data or torch.tensor(...) around the result)")


def _gradient(got, what):
    """The gradient a probe measured, or a Mistake saying why there is none."""
    g = got.grad
    status = g.status
    if status == "no-graph":
        raise Mistake(f"{what}: {NO_GRAPH}")
    if status == "no-grad":
        raise Mistake(f"{what}: backward() left no gradient on the input, so the result is not computed "
                      "from it (detached, or re-wrapped with torch.tensor(...)?)")
    if status != "ok":
        raise Mistake(f"{what} should be a 0-dim tensor (a scalar) so that backward() works")
    return g.grad


# ---------------------------------------------------------------- api


@check("api")
def test_api(student):
    """The names exist with the README's signatures; the losses are nn.Modules returning 0-dim float tensors"""
    student.expect_api()
    huber = _huber(student, 1.0)
    expect(huber.is_module, "HuberLoss should subclass torch.nn.Module (forward computes the loss)")
    tensor_of(huber.loss, "HuberLoss()(pred, target)", shape=[])
    focal = _focal(student, 2.0)
    expect(focal.is_module, "FocalLoss should subclass torch.nn.Module (forward computes the loss)")
    tensor_of(focal.loss, "FocalLoss()(logits, target)", shape=[])
    tensor_of(_masked(student, "random").loss, "masked_mse(pred, target, mask)", shape=[])


@check("api")
def test_defaults(student):
    """HuberLoss() behaves as HuberLoss(delta=1.0) and FocalLoss() as FocalLoss(gamma=2.0)"""
    got, explicit = student.run("huber_call"), _huber(student, 1.0)
    expect_close(tensor_of(got.loss, "HuberLoss()(pred, target)", shape=[]),
                 tensor_of(explicit.loss, "HuberLoss(delta=1.0)(pred, target)", shape=[]),
                 "HuberLoss() should use delta=1.0 by default")
    got, explicit = student.run("focal_call"), _focal(student, 2.0)
    expect_close(tensor_of(got.loss, "FocalLoss()(logits, target)", shape=[]),
                 tensor_of(explicit.loss, "FocalLoss(gamma=2.0)(logits, target)", shape=[]),
                 "FocalLoss() should use gamma=2.0 by default")


# ---------------------------------------------------------------- Huber


def _huber_diagnosis(got, delta):
    pred, target = got.pred, got.target
    loss = got.loss.values
    n = pred.numel()
    err = pred - target
    want_each = F.huber_loss(pred, target, delta=delta, reduction="none").reshape(-1)
    if close(loss, want_each.sum()):
        return f"the loss is the sum over the {n} elements: return the mean"
    if delta != 1.0 and close(loss, F.smooth_l1_loss(pred, target, beta=delta)):
        return ("that is smooth L1 (Huber divided by delta): Huber is 0.5·e² for |e| <= delta and "
                "delta·(|e| − delta/2) beyond, with no division by delta")
    each = got.elementwise
    if None in each:
        return None
    each = torch.tensor(each)
    wrong = ~torch.isclose(each, want_each, rtol=FLOAT32_SMALL.rtol, atol=FLOAT32_SMALL.atol)
    size = err.abs().reshape(-1)
    at = size == delta
    if wrong[at].all() and not wrong[~at].any():
        return (f"the loss is wrong exactly at |error| = delta ({delta}) and right elsewhere: every "
                "element must fall in exactly one branch (e.g. quadratic where |e| <= delta, linear "
                "otherwise)")
    if wrong[size > delta].any() and not wrong[size < delta].any():
        return "the linear part (|error| > delta) is wrong: it is delta·(|e| − delta/2)"
    if wrong[size < delta].any() and not wrong[size > delta].any():
        return "the quadratic part (|error| < delta) is wrong: it is 0.5·e²"
    return None


@check("values", points=2)
def test_huber_values(student, reference):
    """HuberLoss equals F.huber_loss for several deltas, also at |error| exactly delta"""
    for delta, shape in [(d, None) for d in DELTAS] + [(1.0, [4, 6])]:
        got, want = _huber(student, delta, shape), _huber(reference, delta, shape)
        _expect_loss(got, want, "the Huber loss", lambda: _huber_diagnosis(got, delta),
                     f"HuberLoss(delta={delta}) differs from F.huber_loss(pred, target, delta={delta})")


@check("gradients", points=2)
def test_huber_gradients(student, reference):
    """HuberLoss's gradient with respect to pred matches F.huber_loss's"""
    for delta in DELTAS:
        got, want = _huber(student, delta), _huber(reference, delta)
        grad = _gradient(got, "the Huber loss")
        expected = want.grad.grad
        if close(grad, expected):
            continue
        zero_error = (got.pred - got.target) == 0
        if torch.isnan(grad[zero_error]).any() and not torch.isnan(grad[~zero_error]).any():
            raise Mistake("the gradient is NaN where pred == target: |e| written as sqrt(e²) has no "
                          "gradient at 0; use (pred - target).abs()")
        if not torch.isfinite(grad).all():
            raise Mistake(f"the gradient of HuberLoss(delta={delta}) contains NaN or inf")
        if close(grad, expected * grad.numel()):
            raise Mistake("the gradient is numel times too large: the loss is summed, not averaged")
        wrong = ~torch.isclose(grad, expected, rtol=FLOAT32.rtol, atol=FLOAT32.atol)
        at = (got.pred - got.target).abs() == delta
        if wrong.any() and not wrong[~at].any():
            raise Mistake(f"the gradient is wrong exactly at |error| = delta ({delta}) and right elsewhere: "
                          "every element must fall in exactly one branch")
        expect_close(grad, expected, f"d loss / d pred of HuberLoss(delta={delta}) differs from "
                     "F.huber_loss's")


# ---------------------------------------------------------------- focal


def _focal_terms(logits, target):
    log_p_t = F.log_softmax(logits.double(), dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return log_p_t, log_p_t.exp()


def _focal_diagnosis(got, gamma):
    logits, target = got.logits, got.target
    loss = got.loss.values
    log_p, p = _focal_terms(logits, target)
    right = -((1 - p) ** gamma) * log_p
    if close(loss, right.sum()):
        return "the loss is summed over the batch: return the mean over the samples"
    candidates = [
        (-log_p, "your loss equals plain cross-entropy: the factor (1 - p_t)^gamma is missing"),
        (-(p ** gamma) * log_p, "gamma was applied to p_t: the factor is (1 - p_t)^gamma"),
        (-(1 - p ** gamma) * log_p, "the factor was computed as 1 - p_t^gamma: it is (1 - p_t)^gamma"),
        (-((1 - p) ** gamma) * torch.log1p(-p.clamp(max=1 - 1e-12)),
         "the log term should be log p_t, not log(1 - p_t)"),
        (((1 - p) ** gamma) * log_p, "the sign is wrong: the loss is -(1 - p_t)^gamma · log p_t (>= 0)"),
    ]
    dim0 = F.log_softmax(logits.double(), dim=0).gather(1, target.unsqueeze(1)).squeeze(1)
    candidates.append((-((1 - dim0.exp()) ** gamma) * dim0,
                       "the softmax was taken over the batch (dim 0): take it over the classes, dim=1"))
    twice = F.log_softmax(F.softmax(logits.double(), dim=1), dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    candidates.append((-((1 - twice.exp()) ** gamma) * twice,
                       "softmax was applied to the logits before F.cross_entropy / log_softmax, which apply "
                       "it themselves, so the probabilities went through softmax twice: pass the raw logits"))
    for values, message in candidates:
        if close(loss, values.mean().float()) and not close(values.mean(), right.mean()):
            return message
    if gamma == 0:
        return ("with gamma=0 the focal loss must equal cross-entropy, F.cross_entropy(logits, target): "
                "check log p_t (log_softmax over the classes, dim=1, at the target class) and the mean")
    return None


@check("values", points=2)
def test_focal_values(student, reference):
    """FocalLoss is the mean of -(1 - p_t)^gamma · log p_t; gamma=0 gives cross-entropy"""
    for gamma in GAMMAS:
        got, want = _focal(student, gamma), _focal(reference, gamma)
        _expect_loss(got, want, "the focal loss", lambda: _focal_diagnosis(got, gamma),
                     f"FocalLoss(gamma={gamma}) differs from the mean of -(1 - p_t)^gamma · log p_t")


@check("gradients", points=2)
def test_focal_gradients(student, reference):
    """FocalLoss's gradient with respect to the logits matches the reference's"""
    for gamma in (0.0, 2.0, 3.5):
        got, want = _focal(student, gamma), _focal(reference, gamma)
        grad = _gradient(got, "the focal loss")
        if close(grad, want.grad.grad):
            continue
        logits = got.logits.double().requires_grad_(True)
        log_p = F.log_softmax(logits, dim=1).gather(1, got.target.unsqueeze(1)).squeeze(1)
        (-((1 - log_p.exp()).detach() ** gamma) * log_p).mean().backward()
        if close(grad, logits.grad.float()):
            raise Mistake("the gradient is as if (1 - p_t)^gamma were detached: the factor is part of "
                          "the loss, let autograd differentiate it too")
        values_wrong = not close(got.loss.values, want.loss.values)
        expect_close(grad, want.grad.grad,
                     f"d loss / d logits of FocalLoss(gamma={gamma}) differs from the reference"
                     + (" (the loss itself is wrong too: see the values check)" if values_wrong else ""))


@check("values", points=2)
def test_focal_stable(student, reference):
    """FocalLoss gives finite, correct losses and gradients for logits of magnitude 1e4"""
    # float32 holds 1e4 only to ~1e-3, so correct implementations differ by that much in log p_t
    for gamma in HUGE_GAMMAS:
        got, want = _huge(student, gamma), _huge(reference, gamma)
        loss = tensor_of(got.loss, "the focal loss", shape=[])
        if not torch.isfinite(loss).all():  # inf or NaN, as the logits happen to fall
            raise Mistake(f"the loss is {'inf' if torch.isinf(loss).any() else 'NaN'} for logits of "
                          "magnitude 1e4 (exp(x) overflows, and log(softmax(x)) underflows to log(0)): "
                          "compute log p_t with F.log_softmax (or F.cross_entropy) and p_t = exp(log p_t)")
        ordinary, ordinary_ref = _focal(student, gamma), _focal(reference, gamma)
        wrong_anyway = not close(ordinary.loss.values, ordinary_ref.loss.values)
        expect_close(loss, want.loss.values,
                     f"FocalLoss(gamma={gamma}) is wrong for logits of magnitude 1e4 " +
                     ("(and for ordinary logits too: see the values check)" if wrong_anyway else
                      "(a clamped probability or an eps inside the log cuts the true loss short): "
                      "use F.log_softmax"), tol=HUGE_LOSS)
        grad = _gradient(got, "the focal loss")
        if not torch.isfinite(grad).all():
            raise Mistake("the gradients are NaN or inf for logits of magnitude 1e4: compute log p_t "
                          "with F.log_softmax and p_t = exp(log p_t), no division by p_t")
        wrong_anyway = ordinary.grad.status != "ok" or not close(ordinary.grad.grad, ordinary_ref.grad.grad)
        expect_close(grad, want.grad.grad,
                     f"d loss / d logits of FocalLoss(gamma={gamma}) is wrong for logits of magnitude 1e4"
                     + (" (and for ordinary logits too: see the gradient check)" if wrong_anyway else ""),
                     tol=HUGE_GRAD)


# ---------------------------------------------------------------- masked_mse


@check("values", points=2)
def test_masked_mse_values(student, reference):
    """masked_mse averages the squared error over the positions where mask is True"""
    for case in CASES:
        got, want = _masked(student, case), _masked(reference, case)
        loss = tensor_of(got.loss, "masked_mse(pred, target, mask)", shape=[])
        if close(loss, want.loss.values):
            continue
        sq, mask = (got.pred - got.target) ** 2, got.mask
        candidates = [
            ((sq * mask).sum() / sq.numel(),
             "the sum over masked positions was divided by numel: divide by the number of True "
             "positions (mask.sum())"),
            (sq[~mask].mean() if (~mask).any() else None,
             "the mask is inverted: True marks the positions that count"),
            ((sq * mask).sum(), "the squared errors are summed, not averaged over the True positions"),
            (sq.mean(), "the mask is ignored: average only over the positions where mask is True"),
        ]
        for values, message in candidates:
            if values is not None and close(loss, values):
                raise Mistake(message)
        expect_close(loss, want.loss.values, "masked_mse differs from the mean squared error "
                     f"over the True positions (mask of shape {tuple(mask.shape)})")


@check("gradients")
def test_masked_mse_gradients(student, reference):
    """masked_mse's gradient is 2·(pred − target)/count at True positions and 0 elsewhere"""
    for case in ("random", "3d"):
        got, want = _masked(student, case), _masked(reference, case)
        grad = _gradient(got, "masked_mse")
        if close(grad, want.grad.grad):
            continue
        expect(bool((grad[~got.mask] == 0).all()),
               "the gradient reaches positions where mask is False: they must not affect the loss")
        expect_close(grad, want.grad.grad, "d masked_mse / d pred differs from the reference")


@check("gradients", points=2)
def test_masked_mse_empty(student):
    """With no True position masked_mse is a 0-dim 0 with zero (not NaN) gradients"""
    got = _masked(student, "none")
    loss = tensor_of(got.loss, "masked_mse with an all-False mask", shape=[])
    if torch.isnan(loss).any():
        raise Mistake("with an all-False mask the loss is NaN (0 / 0): divide by the count clamped at "
                      "1 (mask.sum().clamp_min(1)), or return a zero that is still connected to pred")
    expect(loss.item() == 0, f"with an all-False mask the loss should be 0, got {loss.item():.4g}")
    g = got.grad
    if g.status in ("no-graph", "no-grad"):
        raise Mistake("with an all-False mask the loss is not connected to pred, so backward() fails: "
                      "return a zero computed from pred (e.g. (pred * 0).sum() or sum / count.clamp_min(1))")
    grad = _gradient(got, "masked_mse")
    expect(bool(torch.isfinite(grad).all()), "with an all-False mask the gradient is NaN: avoid 0 / 0, "
           "e.g. divide by mask.sum().clamp_min(1)")
    expect(bool((grad == 0).all()), "with an all-False mask the gradient should be zero everywhere")


# ---------------------------------------------------------------- devices

DEVICE_RUNS = {"huber": "HuberLoss", "focal": "FocalLoss", "masked": "masked_mse",
               "masked_none": "masked_mse with an all-False mask"}


@check("device")
def test_device(student):
    """The losses work on the device of their inputs (meta, and cuda when present), making no tensor elsewhere"""
    made = ("a tensor made on the default device (cpu) met them, e.g. a one-hot from torch.eye(C) or a "
            "zero from torch.tensor(0.0); build it from the inputs (F.one_hot(target, C), torch.zeros_like, "
            "or device=pred.device)")
    expect_device_runs(student, DEVICE_RUNS, made)
