"""Hidden checks for exercise10_accumulation."""

import torch
import torch.nn.functional as F

from grader.checks import FLOAT32_SMALL, LOSS, Mistake, check, close, expect, near
from grader.suites.trusted_side import diagnose_steps, linear_loss_and_grads, loss_after_step, value_of
from grader.suites.exercise10_accumulation.probes import (
    ONLINE_D, classification_examples, micro_batches, regression_examples)

FULL = (6, 3)       # 6 micro-batches, accum_steps 3: groups of 3 and 3
TRAILING = (8, 3)   # 8 micro-batches, accum_steps 3: groups of 3, 3 and a trailing 2
MOMENTUM_RUNS = ((7, 3), (5, 1))  # groups 3, 3, 1; and accum_steps=1 (plain training)

# ---- trusted helpers ----


def _group_grads(params, group):
    """Gradients of the mean cross-entropy over one batch concatenating the group's micro-batches."""
    x = torch.cat([b[0] for b in group])
    y = torch.cat([b[1] for b in group])
    return linear_loss_and_grads(params, x, y)[1]


def _regression(params, x, y):
    return linear_loss_and_grads(params, x, y, lambda out, y: (out.reshape(()) - y.double()) ** 2)


def _classification(params, x, y):
    return linear_loss_and_grads(params, x, y, lambda out, y: F.cross_entropy(out.unsqueeze(0), y.unsqueeze(0)))


def _empty(grads) -> bool:
    return all(g is None or not bool(g.any()) for g in grads)


def _same(a, b) -> bool:
    return close(a, b, tol=FLOAT32_SMALL)


def _scaled(grads, factor):
    return [g * factor for g in grads]


def _added(a, b):
    return [x + y for x, y in zip(a, b)]


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("batch") else "s")


def _diagnose_accumulation(n_micro, accum, steps):
    """Name what went wrong in the steps of train_accumulated, or None if they look right."""
    batches = micro_batches(n_micro, seed=n_micro)
    groups = [batches[s:s + accum] for s in range(0, n_micro, accum)]
    where = f"{_plural(n_micro, 'micro-batch')} with accum_steps={accum}"
    count = len(steps)
    if count == 0:
        return (f"train_accumulated never called optimizer.step() ({where}): update the parameters with the "
                "optimizer you were given")
    if all(_empty(s.grads) for s in steps):
        return ("optimizer.step() found no gradients, so the parameters never moved: the gradients were cleared "
                "between the last loss.backward() of a group and optimizer.step(), or step ran before backward")
    if accum > 1 and count == n_micro:
        return (f"train_accumulated called optimizer.step() after every micro-batch ({count} steps for {where}): "
                f"step once per group of accum_steps micro-batches ({len(groups)} steps)")
    trailing = n_micro % accum
    if trailing and count == n_micro // accum:
        rest = ("the last micro-batch forms a group of its own" if trailing == 1 else
                f"the last {trailing} micro-batches form a shorter group")
        return (f"train_accumulated dropped the trailing group: it made {count} steps for {where}, but {rest} "
                f"that must be stepped too ({len(groups)} steps)")
    if count != len(groups):
        return (f"train_accumulated made {count} optimizer steps for {where}, but there are {len(groups)} "
                "groups: one step per group of accum_steps consecutive micro-batches, and one for a shorter "
                "trailing group")
    previous = None
    for k, (step, group) in enumerate(zip(steps, groups)):
        params, seen, size = step.params, step.grads, len(group)
        true = _group_grads(params, group)
        if _same(seen, true):
            previous = seen
            continue
        short = size < accum
        if not short and _same(seen, _scaled(true, accum)):
            return ("the step used the sum of the micro-batches' mean losses (accum_steps times too large): divide "
                    "each micro-batch's loss by accum_steps before backward (a shorter trailing group by its "
                    "own size)")
        if short and _same(seen, _scaled(true, size / accum)):
            alone = ("that micro-batch alone" if size == 1 else f"one batch concatenating those {size}")
            return (f"the trailing group of {_plural(size, 'micro-batch')} was divided by accum_steps={accum} "
                    f"instead of by its own size {size}: its step must equal that of {alone}")
        if short and _same(seen, _scaled(true, size)):
            return (f"the trailing group's step used the sum of its {size} micro-batches' mean losses: divide its "
                    f"losses by its own size ({size})")
        if previous is not None and _same(seen, _added(previous, true)):
            return ("the gradients were never cleared: each step also held the gradients of the groups before "
                    "it. Call optimizer.zero_grad() after each step (or before each group)")
        last = _group_grads(params, group[-1:])
        if size > 1 and any(_same(seen, _scaled(last, c)) for c in (1.0, 1.0 / accum, 1.0 / size)):
            return ("only the last micro-batch of each group reached optimizer.step(): the gradients were cleared "
                    "every micro-batch. Let them add up over the group and clear them once per step")
        first = _group_grads(params, group[:1])
        if size > 1 and any(_same(seen, _scaled(first, c)) for c in (1.0, 1.0 / accum, 1.0 / size)):
            return ("optimizer.step() came right after the first micro-batch of a group instead of after its last: "
                    "counting micro-batches from 0, a group ends when (i + 1) is a multiple of accum_steps")
        label = "the trailing group" if short else f"group {k + 1} (of {len(groups)})"
        return (f"the gradients at the step for {label} are not those of one batch concatenating its "
                f"micro-batches ({where})")
    return None


def _check_accumulation(student, reference, n_micro, accum, momentum=0.0):
    kwargs = {"n_micro": n_micro, "accum_steps": accum}
    if momentum:
        kwargs["momentum"] = momentum
    got = student.run("accumulate", **kwargs)
    want = reference.run("accumulate", **kwargs)
    ok = (len(got.steps) == len(want.steps)
          and all(_same(g.grads, w.grads) and _same(g.params, w.params)
                  for g, w in zip(got.steps, want.steps))
          and _same(got.params_after, want.params_after))
    if ok:
        return
    message = _diagnose_accumulation(n_micro, accum, got.steps)
    optimizer = f"SGD(momentum={momentum})" if momentum else "SGD"
    raise Mistake(message or f"the parameters after train_accumulated ({_plural(n_micro, 'micro-batch')}, "
                  f"accum_steps={accum}, {optimizer}) differ from one step per group on the concatenated group")


def _check_online(got, want, examples, loss_and_grads, task):
    ok = (len(got.calls) == len(want.calls)
          and all(len(g.steps) == 1 and _same(g.steps[0], w.steps[0])
                  and _same(g.params_after, w.params_after) for g, w in zip(got.calls, want.calls)))
    if ok:
        return
    calls = got.calls
    true = [loss_and_grads(c.params_before, x, y)[1] for c, (x, y) in zip(calls, examples)]
    message = diagnose_steps("online_step", "example", [c.steps for c in calls], true,
                             [c.grads_after for c in calls],
                             "loss_fn(model(x as a batch of one), y as a batch of one)")
    raise Mistake(message or f"the parameters after online_step differ from one optimizer step on the example's "
                  f"loss ({task})")


def _shape(shape) -> str:
    return str(tuple(shape))


# ---- api ----

@check("api")
def test_api(student):
    """train_accumulated and online_step exist with the README's signatures and return a value"""
    student.expect_api()
    steps = student.run("accumulate", n_micro=FULL[0], accum_steps=FULL[1]).result
    expect(steps.type != "NoneType", "train_accumulated returned None: return the number of optimizer steps")
    calls = student.run("online_regression").calls
    loss = calls[0].result if calls else None
    expect(loss is None or loss.type != "NoneType", "online_step returned None: return the loss")


@check("api")
def test_online_returns_float(student):
    """online_step returns the loss as a Python float, not a tensor"""
    found = [c.result for probe in ("online_regression", "online_classification")
             for c in student.run(probe).calls if c.result is not None]
    for num in found:
        if num.type == "float":
            continue
        if num.type == "tensor":
            graph = " (and it still carries the autograd graph)" if num.requires_grad else ""
            raise Mistake(f"online_step returned the loss as a tensor{graph}, not a Python float: use loss.item()")
        raise Mistake(f"online_step should return the loss as a Python float, not a {num.type}")
    expect(found, "online_step raised an error on every example, so it returned no loss")


@check("api")
def test_online_batch_dimension(student):
    """online_step calls the model on a batch of one: x of shape (features,) becomes (1, features)"""
    want = [1, ONLINE_D]
    for probe in ("online_regression", "online_classification"):
        shapes = [s for c in student.run(probe).calls for s in c.model_inputs]
        expect(shapes, "online_step never called the model")
        for shape in shapes:
            if shape == want:
                continue
            if shape == [ONLINE_D]:
                raise Mistake(f"online_step called the model on x of shape {_shape(shape)}, without a batch "
                              f"dimension: a model expects (batch, features), so give it a batch of one, "
                              f"shape {_shape(want)} (x.unsqueeze(0))")
            raise Mistake(f"online_step called the model on an input of shape {_shape(shape)}; x has shape "
                          f"{_shape([ONLINE_D])}, and the model should get a batch of one, {_shape(want)}")


@check("api")
def test_online_mse_shapes(student):
    """With nn.MSELoss, online_step gives the loss a prediction and a target of the same shape (no broadcasting)"""
    seen = [s for c in student.run("online_regression").calls for s in c.loss_inputs]
    expect(seen, "online_step never called loss_fn: compute the loss with the loss_fn you were given")
    for s in seen:
        if s.input != s.target:
            raise Mistake(f"online_step gave nn.MSELoss a prediction of shape {_shape(s.input)} and a target of "
                          f"shape {_shape(s.target)}: they only match by broadcasting (PyTorch warns about "
                          "it). Give the target the prediction's shape, or remove the prediction's batch "
                          "dimensions, so both have the same shape")


# ---- train_accumulated ----

@check("gradients", points=2)
def test_accumulated_gradients(student, reference):
    """Each group of accum_steps micro-batches gives one step with the gradients of the concatenated batch"""
    _check_accumulation(student, reference, *FULL)


@check("gradients", points=2)
def test_trailing_group(student, reference):
    """A trailing shorter group is stepped too, its loss scaled by its own size (8 micro-batches, accum_steps=3)"""
    _check_accumulation(student, reference, *TRAILING)


@check("values", points=2)
def test_momentum_trajectory(student, reference):
    """With SGD(momentum=0.9) the parameters follow training on the concatenated groups (accum_steps 3 and 1)"""
    for n_micro, accum in MOMENTUM_RUNS:
        _check_accumulation(student, reference, n_micro, accum, momentum=0.9)


@check("values")
def test_step_count(student):
    """train_accumulated returns the number of optimizer steps it made, as an int"""
    runs = [FULL, TRAILING, *MOMENTUM_RUNS]
    for n_micro, accum in runs:
        kwargs = {"n_micro": n_micro, "accum_steps": accum}
        if (n_micro, accum) in MOMENTUM_RUNS:
            kwargs["momentum"] = 0.9
        got = student.run("accumulate", **kwargs)
        num, made = got.result, len(got.steps)
        if num.type != "int":
            value = num.value
            shown = f" ({value:g})" if value is not None else ""
            raise Mistake(f"train_accumulated should return the number of optimizer steps as an int, not a "
                          f"{num.type}{shown}")
        value = int(num.value)
        if value == made:
            continue
        detail = ""
        if value == n_micro:
            detail = ": it returned the number of micro-batches"
        elif value == n_micro // accum and n_micro % accum:
            detail = ": the step for the trailing group counts too"
        raise Mistake(f"train_accumulated returned {value}, but it made {made} optimizer steps "
                      f"({_plural(n_micro, 'micro-batch')}, accum_steps={accum}){detail}")


# ---- online_step ----

@check("gradients", points=2)
def test_online_regression_update(student, reference):
    """online_step makes one step on the fresh gradients of this example's loss (nn.MSELoss, 1 output)"""
    got = student.run("online_regression")
    want = reference.run("online_regression")
    if got.error:
        raise Mistake(f"nn.MSELoss raised {got.error}")
    _check_online(got, want, regression_examples(), _regression, "nn.MSELoss")


@check("gradients")
def test_online_classification_update(student, reference):
    """online_step works with nn.CrossEntropyLoss: logits (1, C) and a long 0-dim class index as target"""
    got = student.run("online_classification")
    want = reference.run("online_classification")
    if got.error:
        seen = got.calls[-1].loss_inputs
        if not seen:
            raise Mistake(f"with nn.CrossEntropyLoss (a model with 3 outputs, y a long 0-dim class index) "
                          f"online_step raised {got.error}")
        s = seen[-1]
        if len(s.input) == 1 and len(s.target) == 1:
            raise Mistake(f"nn.CrossEntropyLoss raised {got.error}: the logits {_shape(s.input)} have no batch "
                          f"dimension but the target {_shape(s.target)} has one. Run the model on a batch of one "
                          "so the logits are (1, C), and give the class index as a batch of one, shape (1,)")
        raise Mistake(f"nn.CrossEntropyLoss raised {got.error} when given logits of shape {_shape(s.input)} "
                      f"and a target of shape {_shape(s.target)} ({s.target_dtype}): with logits (1, C), the "
                      "class index must be a batch of one too, a long tensor of shape (1,)")
    _check_online(got, want, classification_examples(), _classification, "nn.CrossEntropyLoss")


@check("values")
def test_online_loss(student):
    """online_step returns the example's loss, computed before the update"""
    probes = (("online_regression", regression_examples(), _regression),
              ("online_classification", classification_examples(), _classification))
    for probe, examples, loss_and_grads in probes:
        got = student.run(probe)
        for call, (x, y) in zip(got.calls, examples):
            if call.result is None:
                continue
            value = value_of(call.result, "online_step")
            before, _ = loss_and_grads(call.params_before, x, y)
            if near(value, before, tol=LOSS):
                continue
            after, _ = loss_and_grads(call.params_after, x, y)
            raise Mistake(loss_after_step("online_step", value, after, before)
                          or f"online_step returned {value:.5f}, but the loss of that example is {before:.5f}")
