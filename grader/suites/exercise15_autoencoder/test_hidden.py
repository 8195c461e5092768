"""Hidden checks for exercise15_autoencoder.

The AutoEncoder's architecture is the student's choice, so its outputs are never compared
with the reference's: the checks look at shapes, at forward == decode(encode(x)), at the
parameters a backward pass reaches, and at training progress. corrupt's noise values depend
on how it is drawn, so corrupt is graded by behaviour (statistics, seeds, the generator's
state, torch's global RNG). denoising_step runs on the grader's own spy model, so the true
loss and gradients are recomputed here from the input the spy recorded.
"""

import math

import torch

from grader.checks import FLOAT32_SMALL, LOSS, ROUNDING, SAME_OPS, Mistake, check, close, expect, near
from grader.suites.trusted_side import expect_device_runs, loss_after_step, tensor_of, value_of
from grader.suites.exercise15_autoencoder.probes import (
    CONFIGS, CORRUPT_STD, LEARN_STEPS, NOISE_STD, Call, DenoiseCall, corrupt_input, denoise_batch, spy_reconstruct)

# ---- trusted helpers ----


def _shape(shape) -> str:
    return str(tuple(shape))


def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32_SMALL)


def _empty(grads) -> bool:
    return all(g is None or not bool(g.any()) for g in grads)


def _noise_message(noise: torch.Tensor, std: float, what: str, result: torch.Tensor | None = None,
                   result_what: str = ""):
    """What is wrong with noise that should be N(0, std**2) elementwise, or None.

    The tolerances are 5 standard errors of the sample mean (of the noise as drawn, so noise
    of the wrong scale is named for its scale) and of the sample std, which a correct
    solution never exceeds (whatever way it draws the noise)."""
    noise = noise.double().flatten()
    n = noise.numel()
    mean, sd = noise.mean().item(), noise.std().item()
    if result is not None:
        out = result.double()
        if abs(out.mean().item()) <= 5 * std / math.sqrt(n) and abs(out.std().item() / std - 1) <= 5 / math.sqrt(2 * n):
            return (f"{result_what} looks like the noise alone: corrupt must return x plus the noise "
                    "(x + noise_std * noise), not just the noise")
    if abs(mean) > 5 * max(std, sd) / math.sqrt(n) + 1e-6:  # the standard error of the noise drawn
        return (f"{what} has mean {mean:.3f}, not 0: the noise must be zero-mean Gaussian noise "
                "(a standard normal draw, torch.randn, times noise_std), added to x")
    tol = 5 / math.sqrt(2 * n)
    if abs(sd / std - 1) <= tol:
        return None
    for candidate, message in (
            (1.0, "noise_std was ignored: multiply the standard normal noise by noise_std"),
            (std ** 2, "noise_std was squared: noise_std is the standard deviation, not the variance, "
                       "so multiply the standard normal noise by noise_std itself"),
            (math.sqrt(std), "noise_std was used as a variance (the noise was scaled by sqrt(noise_std)): "
                             "multiply the standard normal noise by noise_std itself")):
        if abs(sd / candidate - 1) <= tol:
            return f"{what} has std {sd:.3f} with noise_std={std:g}: {message}"
    return f"{what} has std {sd:.3f}, but it should be noise_std={std:g}"


def _generator_message(who: str, global_untouched: bool, advanced: list, same_equal: bool,
                       other_differs: bool):
    """What is wrong with how the noise was drawn, or None. advanced[i]: the generator's state
    changed during call i."""
    if not global_untouched:
        if not any(advanced):
            return (f"{who} drew the noise from torch's global random generator (torch.randn_like(x), or "
                    "torch.randn without generator=), not from the generator it was given: pass "
                    "generator=generator, e.g. torch.randn(x.shape, generator=generator)")
        return (f"{who} changed the state of torch's global random generator (did it call torch.manual_seed, "
                "or draw something else without generator=?): draw only from the generator you were given")
    if not any(advanced):
        return (f"{who} never drew from the generator it was given (its state is unchanged): draw the noise "
                "with it, e.g. torch.randn(x.shape, generator=generator)")
    if not same_equal:
        return (f"{who} gave different noise for two generators with the same seed: all the randomness must "
                "come from the generator you were given")
    if not other_differs:
        return (f"{who} gave the same noise for generators with different seeds: did it re-seed the generator "
                "(generator.manual_seed)? Draw from the generator as it is given")
    if not all(advanced):
        return (f"{who} left the generator's state unchanged in some calls: each call must draw fresh noise "
                "from the generator, continuing from where it is (do not re-seed it)")
    return None


def _described(call: Call, what: str, shape, dtype="torch.float32") -> torch.Tensor:
    if call.error:
        raise Mistake(f"{what} raised {call.error}")
    return tensor_of(call.value, what, shape=shape, dtype=dtype)


# ---- AutoEncoder ----


@check("api")
def test_api(student):
    """AutoEncoder, corrupt and denoising_step exist with the README's signatures; AutoEncoder is an nn.Module"""
    student.expect_api()
    got = student.run("ae_shapes")
    expect(got.configs[0].is_module, f"AutoEncoder(...) built a {got.type}, not an nn.Module: "
           "subclass nn.Module and call super().__init__() first")


@check("api")
def test_autoencoder_shapes(student):
    """encode gives (N, latent_dim), decode and forward give (N, in_dim), for batches of 1, 4 and 9"""
    got = student.run("ae_shapes")
    for config in got.configs:
        in_dim, hidden, latent = config.dims
        expect(config.is_module, "AutoEncoder(...) is not an nn.Module")
        made = f"AutoEncoder({in_dim}, {hidden}, {latent})"
        for call in config.calls:
            n = call.n
            enc = call.encode
            if enc.error:
                raise Mistake(f"{made}.encode raised {enc.error} on x of shape {_shape([n, in_dim])}")
            desc = enc.value
            if desc.is_tensor and desc.shape == [n, hidden]:
                raise Mistake(f"{made}.encode returned {hidden} features per sample, i.e. hidden_dim: encode must "
                              f"end with a layer to latent_dim, shape {_shape([n, latent])}")
            if desc.is_tensor and n == 1 and desc.shape == [latent]:
                raise Mistake(f"{made}.encode dropped the batch dimension of a batch of one: it returned shape "
                              f"{_shape(desc.shape)}, expected {_shape([1, latent])} (do not squeeze)")
            tensor_of(desc, f"{made}.encode(x) for x of shape {_shape([n, in_dim])}", shape=[n, latent])
            _described(call.decode, f"{made}.decode(z) for z of shape {_shape([n, latent])}", [n, in_dim])
            _described(call.forward, f"{made}(x) for x of shape {_shape([n, in_dim])}", [n, in_dim])


@check("api")
def test_hidden_dim(student):
    """AutoEncoder uses hidden_dim as the width of its hidden layer (two configurations)"""
    for config in student.run("ae_structure"):
        in_dim, hidden, latent = config.dims
        shapes = config.shapes
        made = f"AutoEncoder({in_dim}, {hidden}, {latent})"
        expect(shapes, f"{made} has no parameters: build the encoder and the decoder from nn.Linear layers "
               "assigned as attributes (or in an nn.Sequential)")
        if not any(hidden in shape for shape in shapes):
            shown = ", ".join(_shape(s) for s in shapes[:6])
            raise Mistake(f"no layer of {made} has hidden_dim={hidden} units (its parameters have shapes {shown}): "
                          "use hidden_dim, not a fixed number, as the width of the hidden layer")


@check("values")
def test_forward_is_decode_of_encode(student):
    """forward(x) equals decode(encode(x)) on the same module"""
    got = student.run("ae_consistency")
    in_dim = CONFIGS[0][0]
    forward = _described(got.forward, "forward(x)", [5, in_dim], dtype=None)
    composed = _described(got.composed, "decode(encode(x))", [5, in_dim], dtype=None)
    if not close(forward, composed, tol=SAME_OPS):
        diff = (forward.double() - composed.double()).abs().max().item()
        raise Mistake(f"forward(x) differs from decode(encode(x)) (by up to {diff:.3g}, in eval mode): forward "
                      "must be exactly the encoder followed by the decoder, return self.decode(self.encode(x)), "
                      "with no layer skipped and no extra activation")


@check("gradients")
def test_autoencoder_gradients(student):
    """A backward pass of the reconstruction loss reaches every parameter, with finite gradients"""
    got = student.run("ae_gradients")
    expect(got.has_graph, "forward(x) carries no autograd graph: is it computed under torch.no_grad(), "
           "or detached?")
    params = got.params
    expect(params, "AutoEncoder has no parameters")
    missing = [p.name for p in params if p.none or not p.nonzero]
    if missing:
        shown = ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else "")
        raise Mistake(f"no gradient reaches {shown}: every parameter must take part in forward, with nothing "
                      "detached (.detach(), torch.no_grad()) between the input and the reconstruction")
    bad = [p.name for p in params if not p.finite]
    expect(not bad, f"non-finite gradients in {', '.join(bad[:4])}")


@check("loss-decrease")
def test_autoencoder_learns(student):
    """A few hundred Adam steps make the reconstruction error fall well below the data's variance"""
    got = student.run("ae_learn")
    losses, final, variance = got.losses, got.final, got.variance
    expect(all(l == l for l in losses) and final == final, "the reconstruction loss became NaN during training")
    expect(final < 0.2 * variance,
           f"after {LEARN_STEPS} Adam steps the reconstruction error is {final:.3f}, not well below the data's "
           f"variance {variance:.3f} (it started at {losses[0]:.3f}): the model cannot reconstruct its input. "
           "Are both halves trained (nothing detached)? Does the decoder end with an activation (ReLU, "
           "sigmoid) that limits its outputs? Its last layer should be a plain nn.Linear")


# ---- corrupt ----


@check("api")
def test_corrupt_shape_dtype(student):
    """corrupt returns a tensor of x's shape and dtype"""
    for case in student.run("corrupt_shapes"):
        desc = case.result
        what = f"corrupt(x) for x of shape {_shape(case.shape)} ({case.dtype})"
        tensor_of(desc, what, shape=case.shape, dtype=None)
        expect(desc.dtype == case.dtype, f"{what} returned a {desc.dtype} tensor: keep x's dtype "
               "(draw the noise with dtype=x.dtype, or let x + noise keep it)")


@check("values")
def test_corrupt_noise(student):
    """corrupt(x) - x is Gaussian noise with mean 0 and std noise_std (20000 values); noise_std=0 returns x"""
    got = student.run("corrupt_calls")
    base = corrupt_input()
    for name in ("a", "wide"):
        std = CORRUPT_STD[name][0]
        result = tensor_of(got[name].result, f"corrupt(x, {std:g}, generator)", shape=base.shape, dtype=None)
        message = _noise_message(result - base, std, f"corrupt(x, {std:g}, generator) - x", result=result,
                                 result_what=f"corrupt(x, {std:g}, generator)")
        if message:
            raise Mistake(message)
    zero = tensor_of(got["zero"].result, "corrupt(x, 0.0, generator)", shape=base.shape, dtype=None)
    expect(close(zero, base, tol=ROUNDING), "corrupt(x, 0.0, generator) differs from x: with noise_std=0 "
           "the noise vanishes and x's values come back")


@check("values")
def test_corrupt_generator(student):
    """corrupt draws from the generator it is given: same seed, same noise; another seed, other noise; global RNG untouched"""
    got = student.run("corrupt_calls")
    base = corrupt_input()
    values = {name: tensor_of(got[name].result, "corrupt(x, 0.5, generator)", shape=base.shape, dtype=None)
              for name in ("a", "a_again", "b")}
    drawn = [got[name] for name in ("a", "a_again", "b", "wide")]
    message = _generator_message("corrupt", all(c.global_untouched for c in drawn),
                                 [c.generator_advanced for c in drawn],
                                 torch.equal(values["a"], values["a_again"]),
                                 not torch.equal(values["a"], values["b"]))
    if message:
        raise Mistake(message)


@check("values")
def test_corrupt_keeps_x(student):
    """corrupt leaves x unchanged (it returns a new tensor)"""
    got = student.run("corrupt_calls")
    expect(all(c.x_kept for c in got.values()),
           "corrupt modified x in place (x.add_(...), x += ..., or x.normal_()): return a new tensor, "
           "x + noise_std * noise, and leave x as it was")


# ---- denoising_step ----


def _trace(student):
    got = student.run("denoising_trace")
    for call in got.calls:
        expect(call.inputs, "denoising_step never ran the model: reconstruct with model(corrupt(x, ...))")
    return got


def _loss_and_grads(params, inputs, target):
    """MSE between the spy's reconstruction of `inputs` and `target`, and its gradients (float64)."""
    ps = [p.double().requires_grad_(True) for p in params]
    with torch.enable_grad():
        loss = ((spy_reconstruct(ps, inputs.double()) - target.double()) ** 2).mean()
        grads = torch.autograd.grad(loss, ps)
    return loss.item(), [g.float() for g in grads]


def _in_place(call: DenoiseCall, x) -> str | None:
    if torch.equal(call.x_after, x):
        return None
    return ("denoising_step changed x in place (x.add_(...) or x += ..., in corrupt or in the step), so the "
            "clean target was overwritten by the noisy input: build a new tensor, x + noise, and leave x as it was")


@check("api")
def test_denoising_returns_float(student):
    """denoising_step returns the loss as a Python float, not a tensor"""
    for call in _trace(student).calls:
        num = call.result
        if num.type == "float":
            continue
        if num.type == "NoneType":
            raise Mistake("denoising_step returned None: return the loss, loss.item()")
        if num.type == "tensor":
            graph = " (and it still carries the autograd graph)" if num.requires_grad else ""
            raise Mistake(f"denoising_step returned the loss as a tensor{graph}, not a Python float: use loss.item()")
        raise Mistake(f"denoising_step should return the loss as a Python float, not a {num.type}")


@check("values")
def test_denoising_input(student):
    """The model receives a corrupted x: x plus noise of std noise_std"""
    got = _trace(student)
    x = denoise_batch()
    noise, seen_all = [], []
    for call in got.calls:
        seen = call.inputs[0]
        expect(list(seen.shape) == list(x.shape), f"the model received an input of shape {_shape(seen.shape)}; "
               f"x has shape {_shape(x.shape)}")
        expect(not torch.equal(seen, x), "denoising_step gave the model the clean x: a denoising autoencoder is "
               "fed the corrupted input, model(corrupt(x, noise_std, generator)), and reconstructs the clean x")
        noise.append(seen - x)
        seen_all.append(seen)
    message = _noise_message(torch.cat(noise), NOISE_STD, "the noise in the model's input (input - x)",
                             result=torch.cat(seen_all), result_what="the model's input")
    if message:
        raise Mistake(message)


@check("values")
def test_denoising_generator(student):
    """denoising_step draws the noise from the generator it is given (torch's global RNG untouched)"""
    got = _trace(student)
    first = got.calls[0].inputs[0]
    same, other = got.replays.same, got.replays.other
    expect(same and other, "denoising_step never ran the model")
    # when the model saw no noise at all, its inputs say nothing about seeds (test_denoising_input names that)
    noiseless = torch.equal(first, denoise_batch())
    message = _generator_message("denoising_step", got.global_untouched,
                                 [c.generator_advanced for c in got.calls],
                                 noiseless or torch.equal(same[0], first),
                                 noiseless or not torch.equal(other[0], first))
    if message:
        raise Mistake(message)


@check("values", points=2)
def test_denoising_loss(student):
    """denoising_step returns the MSE between the model's output on the corrupted x and the CLEAN x"""
    got = _trace(student)
    x = denoise_batch()
    for call in got.calls:
        value = value_of(call.result, "denoising_step", "loss")
        noisy = call.inputs[0]
        true, _ = _loss_and_grads(call.params_before, noisy, x)
        if near(value, true, tol=LOSS):
            continue
        message = _in_place(call, x)
        if message:
            raise Mistake(message)
        if near(value, _loss_and_grads(call.params_before, noisy, noisy)[0], tol=LOSS):
            raise Mistake("the loss compared the reconstruction with the noisy input: a denoising autoencoder "
                          "reconstructs the clean x, so the target is x, mse(model(noisy), x)")
        if near(value, true * x.numel(), tol=LOSS):
            raise Mistake("the loss is the sum of the squared errors; MSE is their mean (F.mse_loss, nn.MSELoss())")
        after, _ = _loss_and_grads(call.params_after, noisy, x)
        message = loss_after_step("denoising_step", value, after, true)
        expect(message is None, message)
        raise Mistake(f"denoising_step returned {value:.5f}, but the MSE between the model's output on the "
                      f"corrupted input and the clean x is {true:.5f}")


@check("gradients", points=2)
def test_denoising_gradients(student):
    """At optimizer.step() the gradients are those of this call's loss (one step per call, gradients cleared)"""
    got = _trace(student)
    x = denoise_batch()
    calls = got.calls
    counts = [len(c.steps) for c in calls]
    expect(sum(counts), "denoising_step never called optimizer.step(): update the parameters with the optimizer "
           "you were given")
    bad = next((c for c in counts if c != 1), None)
    expect(bad is None, f"denoising_step called optimizer.step() {bad} times in one call; call it exactly once")
    seen = [c.steps[0].grads for c in calls]
    true = [_loss_and_grads(c.params_before, c.inputs[0], x)[1] for c in calls]
    if all(_same(s, t) for s, t in zip(seen, true)):
        return
    if all(_empty(s) for s in seen):
        raise Mistake("optimizer.step() found no gradients, so the parameters never moved: the gradients were "
                      "cleared between loss.backward() and optimizer.step(), or step ran before backward. The "
                      "order is zero_grad, forward, loss, backward, step")
    message = next((m for c in calls if (m := _in_place(c, x))), None)
    if message:
        raise Mistake(message)
    noisy_target = [_loss_and_grads(c.params_before, c.inputs[0], c.inputs[0])[1] for c in calls]
    if all(_same(s, t) for s, t in zip(seen, noisy_target)):
        raise Mistake("the gradients are those of the loss against the noisy input: the target of a denoising "
                      "autoencoder is the clean x, mse(model(noisy), x)")
    running, total = [], None
    for t in true:
        total = t if total is None else [a + b for a, b in zip(total, t)]
        running.append(total)
    if all(_same(s, r) for s, r in zip(seen, running)):
        raise Mistake("the gradients were never cleared (no zero_grad): at each step they held the sum over all "
                      "calls so far. Call optimizer.zero_grad() once per call")
    if _empty(seen[0]) or any(_same(seen[i], true[i - 1]) for i in range(1, len(seen))):
        raise Mistake("optimizer.step() ran before loss.backward(): each step used the gradients left over from "
                      "the previous call. Call loss.backward() first, then optimizer.step()")
    raise Mistake("the gradients at optimizer.step() are not those of the MSE between model(noisy) and the clean "
                  "x: compute that loss, call backward on it, then step")


# ---- devices ----

DEVICE_RUNS = {"autoencoder": "the AutoEncoder moved to the device (encode, decode, forward, backward)",
               "corrupt": "corrupt", "denoising_step": "denoising_step (the model's input)"}
NOISE_THERE = ("the noise was drawn on the default device (cpu); draw it where x is, torch.randn(x.shape, "
               "generator=generator, device=x.device, dtype=x.dtype) (or torch.randn_like(x, generator=generator))")
DEVICE_MADE = {"autoencoder": "a tensor made on the default device (cpu) inside it met x; create it on x's device",
               "corrupt": NOISE_THERE, "denoising_step": NOISE_THERE}


@check("device")
def test_device(student):
    """The AutoEncoder, corrupt and denoising_step work on the device of their inputs (meta, and cuda when present), drawing the noise there"""
    expect_device_runs(student, DEVICE_RUNS, DEVICE_MADE)
