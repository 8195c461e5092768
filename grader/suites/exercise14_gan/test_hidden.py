"""Hidden checks for exercise14_gan."""

import torch
import torch.nn.functional as F

from grader.checks import FLOAT32_SMALL, LOSS, Mistake, check, close, expect, near
from grader.suites.trusted_side import check_devices, loss_after_step, mixed_devices, step_count_problem
from grader.suites.worker_side import Described
from grader.suites.exercise14_gan.probes import (D_JUNK, G_JUNK, UNEVEN, batches, junk, make_D,
                                                 make_G)

# ---- trusted helpers ----

REAL_1, REAL_0, FAKE_0, FAKE_1 = "real labelled 1", "real labelled 0", "fake labelled 0", "fake labelled 1"


def _net(maker, params):
    """The network `maker` builds, in float64, as a function of these parameters."""
    model = maker().double()
    names = [n for n, _ in model.named_parameters()]
    return lambda x: torch.func.functional_call(model, dict(zip(names, params)), (x.double(),))


def _leaves(params):
    return [p.detach().double().clone().requires_grad_(True) for p in params]


def _bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(label)))


def _d_terms(d_params, real, z):
    """The four possible D loss terms: {name: (value, gradients w.r.t. D's parameters)}, and the logits."""
    p = _leaves(d_params)
    with torch.no_grad():
        fake = _net(make_G, _leaves(make_G().parameters()))(z)
    terms = {}
    with torch.enable_grad():
        D = _net(make_D, p)
        real_logits, fake_logits = D(real), D(fake)
        for name, logits, label in ((REAL_1, real_logits, 1), (REAL_0, real_logits, 0),
                                    (FAKE_0, fake_logits, 0), (FAKE_1, fake_logits, 1)):
            loss = _bce(logits, label)
            terms[name] = (loss.item(), [g.float() for g in torch.autograd.grad(loss, p, retain_graph=True)])
    return terms, real_logits.detach().float(), fake_logits.detach().float()


def _g_terms(g_params, z):
    """D(G(z)) labelled 1 and labelled 0: {label: (value, gradients w.r.t. G's parameters)}."""
    p = _leaves(g_params)
    terms = {}
    with torch.enable_grad():
        logits = _net(make_D, _leaves(make_D().parameters()))(_net(make_G, p)(z))
        for label in (1, 0):
            loss = _bce(logits, label)
            terms[label] = (loss.item(), [g.float() for g in torch.autograd.grad(loss, p, retain_graph=True)])
    return terms


def _combine(terms, weights):
    value = sum(w * terms[n][0] for n, w in weights.items())
    grads = None
    for n, w in weights.items():
        scaled = [w * g for g in terms[n][1]]
        grads = scaled if grads is None else [a + b for a, b in zip(grads, scaled)]
    return value, grads


def _add(a, b):
    return [x + y for x, y in zip(a, b)]


def _empty(grads) -> bool:
    return all(g is None or not bool(g.any()) for g in grads)


def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32_SMALL)


D_CORRECT = {REAL_1: 1.0, FAKE_0: 1.0}
SWAPPED = ("swapped the labels: real samples must be labelled 1 (torch.ones_like(D(real))) and fakes 0 "
           "(torch.zeros_like(D(fake)))")
REAL_ZERO = "labelled the real samples 0: D(real) must be compared with ones (torch.ones_like(D(real)))"
FAKE_ONE = "labelled the fake samples 1: D(fake) must be compared with zeros (torch.zeros_like(D(fake)))"
MEAN = ("took the mean of the two terms: the loss is their sum, loss_fn(D(real), ones) + loss_fn(D(fake), zeros), "
        "not half of it")
ONLY_REAL = "used only the real term: add loss_fn(D(fake), zeros) for the fake samples G(z)"
ONLY_FAKE = "used only the fake term: add loss_fn(D(real), ones) for the real samples"
D_WRONG = [  # (weights, what the student did)
    ({REAL_0: 1.0, FAKE_1: 1.0}, SWAPPED),
    ({REAL_0: 1.0, FAKE_0: 1.0}, REAL_ZERO),
    ({REAL_1: 1.0, FAKE_1: 1.0}, FAKE_ONE),
    ({REAL_1: 0.5, FAKE_0: 0.5}, MEAN),
    ({REAL_1: 1.0}, ONLY_REAL),
    ({FAKE_0: 1.0}, ONLY_FAKE),
]
G_WRONG = [
    ({0: -1.0}, "used the saturating loss (minimising -loss_fn(D(G(z)), zeros), i.e. log(1 - D(G(z)))): use the "
                "non-saturating loss_fn(D(G(z)), ones), whose gradients do not vanish when D rejects the fakes"),
    ({0: 1.0}, "labelled G's samples 0: that trains G to make D call them fake. The generator's targets are "
               "ones (torch.ones_like(D(G(z))))"),
]


def _label_problem(losses, real_logits, fake_logits):
    """From what loss_fn was given: a message naming a label mistake, or None."""
    if not losses:
        return "never called loss_fn: compute each term with the loss_fn you were given"
    kinds = []
    for r in losses:
        x, t = r.input, r.target
        if x is None or t is None or t.shape != x.shape:
            return None
        kind = ("real" if _same(x, real_logits) else "fake" if _same(x, fake_logits) else None)
        label = (1 if bool((t == 1).all()) else 0 if bool((t == 0).all()) else None)
        if kind is None or label is None:
            return None  # another (maybe correct) formulation: leave it to the numbers
        kinds.append((kind, label))
    wrong_real = ("real", 0) in kinds
    wrong_fake = ("fake", 1) in kinds
    if wrong_real and wrong_fake:
        return SWAPPED
    if wrong_real:
        return REAL_ZERO
    if wrong_fake:
        return FAKE_ONE
    if all(k == "real" for k, _ in kinds):
        return ONLY_REAL
    if all(k == "fake" for k, _ in kinds):
        return ONLY_FAKE
    return None


def _value(desc: Described, who: str) -> float:
    """The number a step returned (a 1-element tensor is accepted here; see test_returns_floats)."""
    if desc.is_tensor:
        values = desc.values
        if values is not None and values.numel() == 1 and values.is_floating_point():
            return float(values.reshape(()))
        raise Mistake(f"{who} should return the loss as a Python float, not a tensor of shape "
                      f"{tuple(desc.shape)}")
    if desc.type == "NoneType":
        raise Mistake(f"{who} returned None: return the loss (loss.item())")
    if desc.type not in ("float", "int") or desc.value is None:
        raise Mistake(f"{who} should return the loss as a Python float, not a {desc.type}")
    return float(desc.value)


def _diagnose_discriminator(calls):
    """Name what went wrong in the gradients at opt_D.step(), or None if they are right."""
    message = step_count_problem("discriminator_step", [c.steps for c in calls], "opt_D", "the network")
    if message:
        return message
    real_z = batches()
    found = [_d_terms(c.D_before, real, z) for c, (real, z) in zip(calls, real_z)]
    true = [_combine(terms, D_CORRECT)[1] for terms, _, _ in found]
    seen = [c.steps[0].grads for c in calls]
    if all(_same(s, t) for s, t in zip(seen, true)):
        return None
    if all(_empty(s) for s in seen):
        if all(_same(c.D_grads, t) for c, t in zip(calls, true)):
            return ("opt_D.step() ran before loss.backward(): the step found no gradients. Call loss.backward() "
                    "first, then opt_D.step()")
        return ("opt_D.step() found no gradients: they were cleared between loss.backward() and opt_D.step(). "
                "Call opt_D.zero_grad() before the forward pass, never between backward and step")
    d_junk = junk(make_D(), D_JUNK)
    if _same(seen[0], _add(d_junk, true[0])) or _same(seen[1], _add(true[0], true[1])) \
            or _same(seen[1], _add(_add(d_junk, true[0]), true[1])):
        return ("D's gradients were not cleared before backward: opt_D.step() also saw what D's .grad held "
                "before the call (generator_step leaves gradients there). Call opt_D.zero_grad() at the start "
                "of discriminator_step")
    terms, real_logits, fake_logits = found[0]
    labels = _label_problem(calls[0].losses, real_logits, fake_logits)
    if labels:
        return f"discriminator_step {labels}"
    for weights, what in D_WRONG:
        if _same(seen[0], _combine(terms, weights)[1]):
            return f"discriminator_step {what}"
    return ("the gradients at opt_D.step() are not those of loss_fn(D(real), ones) + loss_fn(D(fake), zeros) "
            "with fake = G(z).detach()")


def _diagnose_generator(calls):
    """Name what went wrong in the gradients at opt_G.step(), or None if they are right."""
    message = step_count_problem("generator_step", [c.steps for c in calls], "opt_G", "the network")
    if message:
        return message
    zs = [z for _, z in batches(seed=1)]
    found = [_g_terms(c.G_before, z) for c, z in zip(calls, zs)]
    true = [terms[1][1] for terms in found]
    seen = [c.steps[0].grads for c in calls]
    if all(_same(s, t) for s, t in zip(seen, true)):
        return None
    if all(_empty(s) for s in seen):
        reached = [r.reaches_G for c in calls for r in c.losses]
        if reached and not any(reached):
            return ("no gradient reached G: in generator_step G(z) must not be detached (nor computed under "
                    "torch.no_grad()), since the loss trains G through D")
        if all(_same(c.G_grads, t) for c, t in zip(calls, true)):
            return ("opt_G.step() ran before loss.backward(): the step found no gradients. Call loss.backward() "
                    "first, then opt_G.step()")
        return ("opt_G.step() found no gradients: they were cleared between loss.backward() and opt_G.step(). "
                "Call opt_G.zero_grad() before the forward pass (or after the step), never between backward "
                "and step")
    if _same(seen[1], _add(true[0], true[1])):
        return ("G's gradients were never cleared (no opt_G.zero_grad()): the second step also used the first "
                "call's gradients. Call opt_G.zero_grad() once per call")
    for weights, what in G_WRONG:
        if _same(seen[0], _combine(found[0], weights)[1]):
            return f"generator_step {what}"
    return "the gradients at opt_G.step() are not those of the non-saturating loss loss_fn(D(G(z)), ones)"


def _expect_step(student, reference, trace, diagnose, after, differs):
    """The gradients at a step of the probe `trace` are right (else what `diagnose` names) and the
    parameters after it (`after`) are the reference's (else `differs`)."""
    got = student.run(trace).calls
    want = reference.run(trace).calls
    message = diagnose(got)
    if message:
        raise Mistake(message)
    expect(all(_same(getattr(g, after), getattr(w, after)) for g, w in zip(got, want)), differs)


def _flags_problem(flags, who, net):
    if all(flags):
        return None
    return (f"{who} left {net}'s parameters with requires_grad=False: if you freeze {net} during the step, "
            f"restore requires_grad afterwards ({net}.requires_grad_(True)), or the next step cannot train it")


# ---- api ----

@check("api")
def test_api(student):
    """discriminator_step and generator_step exist with the README's signatures and return the loss"""
    student.expect_api()
    for who, probe in (("discriminator_step", "discriminator_trace"), ("generator_step", "generator_trace")):
        result = student.run(probe).calls[0].result
        expect(result.is_tensor or result.type != "NoneType", f"{who} returned None: return the loss")


@check("api")
def test_returns_floats(student):
    """Both steps return the loss as a Python float, not a tensor"""
    for who, probe in (("discriminator_step", "discriminator_trace"), ("generator_step", "generator_trace")):
        for call in student.run(probe).calls:
            result = call.result
            if result.is_tensor:
                graph = " (and it still carries the autograd graph)" if result.has_graph else ""
                raise Mistake(f"{who} returned the loss as a tensor{graph}, not a Python float: use loss.item()")
            if result.type != "float":
                raise Mistake(f"{who} should return the loss as a Python float, not a {result.type}")


@check("api")
def test_label_shapes(student):
    """The labels have the shape and dtype of D's output (6 real samples, 4 latent vectors)"""
    got = student.run("labels_uneven")
    for who in ("discriminator_step", "generator_step"):
        step = getattr(got, who)
        losses, error = step.losses, step.error
        expect(losses, f"{who} never called loss_fn: compute the loss with the loss_fn you were given")
        for r in losses:
            if r.target_shape != r.input_shape:
                raise Mistake(f"{who} gave loss_fn labels of shape {tuple(r.target_shape)} for D's output of "
                              f"shape {tuple(r.input_shape)} (with {UNEVEN[0]} real samples and {UNEVEN[1]} "
                              "latent vectors): make each term's labels from its own D output, e.g. "
                              "torch.ones_like(logits)")
            if r.target_dtype != r.input_dtype:
                raise Mistake(f"{who} gave loss_fn labels of dtype {r.target_dtype} for D's output of dtype "
                              f"{r.input_dtype}: make them with torch.ones_like / torch.zeros_like")
        expect(error is None, f"{who} raised {error} (with {UNEVEN[0]} real samples and {UNEVEN[1]} latent vectors)")


# ---- discriminator_step ----

@check("values")
def test_discriminator_loss(student):
    """discriminator_step returns loss_fn(D(real), ones) + loss_fn(D(fake), zeros), computed before the step"""
    calls = student.run("discriminator_trace").calls
    for call, (real, z) in zip(calls, batches()):
        value = _value(call.result, "discriminator_step")
        terms, real_logits, fake_logits = _d_terms(call.D_before, real, z)
        expected = _combine(terms, D_CORRECT)[0]
        if near(value, expected, tol=LOSS):
            continue
        labels = _label_problem(call.losses, real_logits, fake_logits)
        if labels:
            raise Mistake(f"discriminator_step {labels}")
        for weights, what in D_WRONG:
            if near(value, _combine(terms, weights)[0], tol=LOSS):
                raise Mistake(f"discriminator_step {what}")
        after = _combine(_d_terms(call.D_after, real, z)[0], D_CORRECT)[0]
        message = loss_after_step("discriminator_step", value, after, expected, "the opt_D step")
        expect(message is None, message)
        raise Mistake(f"discriminator_step returned {value:.5f}, but loss_fn(D(real), ones) + "
                      f"loss_fn(D(fake), zeros) is {expected:.5f}")


@check("gradients", points=2)
def test_discriminator_gradients(student, reference):
    """opt_D steps once, on the fresh gradients of this call's D loss (D's .grad held junk before)"""
    _expect_step(student, reference, "discriminator_trace", _diagnose_discriminator, "D_after",
                 "D's parameters after discriminator_step differ from one opt_D step on this call's D loss")


@check("gradients", points=2)
def test_discriminator_leaves_G(student):
    """discriminator_step leaves G's parameters and gradients untouched (fake = G(z) detached)"""
    calls = student.run("discriminator_trace").calls
    g_params = [p.detach() for p in make_G().parameters()]
    g_junk = junk(make_G(), G_JUNK)
    for call in calls:
        grads = call.G_grads
        if any(g is None for g in grads) or (_empty(grads) and not _empty(g_junk)):
            raise Mistake("discriminator_step cleared G's gradients (G.zero_grad(), or .grad set to None): it must "
                          "leave G alone; clear only D's gradients (opt_D.zero_grad())")
        if not _same(grads, g_junk):
            reached = any(r.reaches_G for r in call.losses)
            if reached:
                raise Mistake("discriminator_step changed G's gradients: the fake samples were not detached, so "
                              "backward also ran into G. Give D fake = G(z).detach()")
            raise Mistake("discriminator_step changed G's gradients: only D's gradients may change")
        expect(_same(call.G_params, g_params),
               "discriminator_step changed G's parameters: only D is updated there (one step of opt_D)")


# ---- generator_step ----

@check("values")
def test_generator_loss(student):
    """generator_step returns the non-saturating loss loss_fn(D(G(z)), ones), computed before the step"""
    calls = student.run("generator_trace").calls
    for call, (_, z) in zip(calls, batches(seed=1)):
        value = _value(call.result, "generator_step")
        terms = _g_terms(call.G_before, z)
        expected = terms[1][0]
        if near(value, expected, tol=LOSS):
            continue
        for weights, what in G_WRONG:
            if near(value, _combine(terms, weights)[0], tol=LOSS):
                raise Mistake(f"generator_step {what}")
        after = _g_terms(call.G_after, z)[1][0]
        message = loss_after_step("generator_step", value, after, expected, "the opt_G step")
        expect(message is None, message)
        raise Mistake(f"generator_step returned {value:.5f}, but loss_fn(D(G(z)), ones) is {expected:.5f}")


@check("gradients", points=2)
def test_generator_gradients(student, reference):
    """opt_G steps once, on the fresh gradients of the non-saturating loss, which reach G through D"""
    _expect_step(student, reference, "generator_trace", _diagnose_generator, "G_after",
                 "G's parameters after generator_step differ from one opt_G step on loss_fn(D(G(z)), ones)")


@check("modes")
def test_generator_leaves_D(student):
    """generator_step leaves D's parameters unchanged and its requires_grad as it was (D's .grad may change)"""
    calls = student.run("generator_trace").calls
    d_params = [p.detach() for p in make_D().parameters()]
    for call in calls:
        expect(_same(call.D_params, d_params),
               "generator_step changed D's parameters: only G is updated there (one step of opt_G); D's .grad "
               "may be filled by backward, but D must not move")
        message = _flags_problem(call.D_flags, "generator_step", "D")
        if message:
            raise Mistake(message)


@check("modes")
def test_discriminator_restores_G(student):
    """discriminator_step leaves G's requires_grad as it was (freezing G there is fine if restored)"""
    for call in student.run("discriminator_trace").calls:
        message = _flags_problem(call.G_flags, "discriminator_step", "G")
        if message:
            raise Mistake(message)


# ---- device ----

@check("device")
def test_labels_device(student):
    """The labels are made on D's output device, never a fixed one (meta, and cuda when present)"""
    for device in check_devices(student):
        got = student.run("labels_device", device=device)
        for who in ("discriminator_step", "generator_step"):
            step = getattr(got, who)
            error = step.error
            for out, target in zip(step.inputs, step.targets):
                if torch.device(target).type != torch.device(out).type:
                    raise Mistake(f"{who} made the labels on {target} while D's output was on {out} (everything "
                                  f"was on {device!r}): create them with torch.ones_like(logits) / "
                                  "torch.zeros_like(logits), never on a fixed device")
            if mixed_devices(error):
                raise Mistake(f"{who} raised {error} with G, D and the data on {device!r}: a tensor made on the "
                              "default device (cpu) met them; create every tensor on the device of the data "
                              "(torch.ones_like(logits), x.new_zeros(...)), never on a fixed one")
            expect(step.targets, f"{who} never called loss_fn: use the loss_fn you were given"
                   + (f" (it raised {error})" if error else ""))
            expect(not error or device == "meta", f"{who} raised {error} with G, D and the data on {device!r}")


# ---- loss-decrease ----

@check("loss-decrease", points=2)
def test_learns(student):
    """Alternating the two steps on a 1-D GAN moves G's samples toward the data"""
    got = student.run("learn")
    means, target = got.means, got.data_mean
    start, end = abs(means[0] - target), abs(means[-1] - target)
    expect(end < 0.5 and end < 0.4 * start,
           f"after {len(means) - 1} rounds of discriminator_step then generator_step, G's samples have mean "
           f"{means[-1]:.3f} (they started at {means[0]:.3f}; the data's mean is {target:.1f}): G did not learn "
           "to move its samples toward the data")
