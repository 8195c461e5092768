"""Hidden checks for exercise02_workflow."""

import math
from collections.abc import Mapping

import torch

from grader.checks import REPLAYED, Mistake, Tolerance, check, close, expect, expect_close
from grader.suites.trusted_side import descent_without_zero_grad, graph_mistake, tensor_of
from grader.worker.wire import load_untrusted

PART_NAMES = ("X_train", "y_train", "X_test", "y_test")
SIZES = [1, 3, 6]  # in_features tried for LinearModel
LOAD_SIZES = [2, 5]  # in_features tried for load
# Adam's first update, about ±lr for every element; atol is in units of lr (scaled where used)
ADAM_STEP = Tolerance(rtol=1e-2, atol=1e-3)
# "the parameters moved at all": any change beyond float32 noise on values of order 1
MOVED = Tolerance(rtol=0.0, atol=1e-7)


# ----------------------------------------------------------------------------- split helpers

def _parts(call, features):
    """The four tensors split returned, checked for type and columns."""
    if not call.is_sequence:
        raise Mistake(f"split should return a tuple (X_train, y_train, X_test, y_test), not a {call.type}")
    items = call.items
    expect(len(items) == 4, f"split should return 4 tensors (X_train, y_train, X_test, y_test), got {len(items)}")
    parts = [tensor_of(d, f"split's {name}", dtype=None) for d, name in zip(items, PART_NAMES)]
    for t, name, cols in zip(parts, PART_NAMES, (features, 1, features, 1)):
        expect(t.dim() == 2 and t.shape[1] == cols,
               f"split's {name} has shape {tuple(t.shape)}; it should hold whole rows, shape (n, {cols})")
    expect(parts[0].shape[0] == parts[1].shape[0] and parts[2].shape[0] == parts[3].shape[0],
           "X_train and y_train (or X_test and y_test) have different numbers of rows")
    return parts


def _row_ids(part, X, name):
    """Which rows of X the part holds (X[i, 0] identifies row i); a Mistake if any is not a row of X."""
    features = X.shape[1]
    first = part[:, 0] / features
    ids = first.round().long()
    ok = bool(((first - ids).abs() < 1e-6).all()) and bool(((ids >= 0) & (ids < len(X))).all())
    expect(ok and torch.equal(part, X[ids.clamp(0, len(X) - 1)]),
           f"{name} holds rows that are not rows of X: take whole rows of X by index")
    return ids.tolist()


def _split_ids(call, X):
    parts = _parts(call, X.shape[1])
    return _row_ids(parts[0], X, "X_train"), _row_ids(parts[2], X, "X_test"), parts


# ----------------------------------------------------------------------------- api

@check("api", points=2)
def test_api(student):
    """Every name exists with the README's signature; each returns the right kind of thing"""
    student.expect_api()
    for case in _split_size_cases(student):
        _parts(case.call, 2)
    for n, model in zip(SIZES, student.run("linear_model_call", sizes=SIZES)):
        expect(model.is_module, f"LinearModel({n}) should be an nn.Module, got {model.type}")
        tensor_of(model.out, f"LinearModel({n}) on a (7, {n}) batch", shape=[7, 1])
    lo = student.run("loss_and_optimizer_call", lr=0.1)
    expect(lo.pair, f"make_loss_and_optimizer should return a pair (loss_fn, optimizer), not a {lo.type}")
    expect(lo.loss_callable, "the loss_fn returned by make_loss_and_optimizer is not callable")
    expect(lo.is_optimizer, f"the optimizer returned by make_loss_and_optimizer should be a "
           f"torch.optim.Optimizer, not a {lo.optimizer_type}")
    fit = student.run("fit_call", loss="mse", lr=0.1, epochs=12)
    expect(fit.losses_type in ("list", "tuple"), f"fit should return a list of floats, not a {fit.losses_type}")
    expect(len(fit.losses) == 12, f"with epochs=12 fit should return 12 losses, got {len(fit.losses)}")
    expect(fit.loss_items_float, f"fit should return Python floats (use loss.item()), found "
           f"{', '.join(fit.loss_item_types)}")
    ev = student.run("evaluate_call")
    expect(ev.is_float, f"evaluate should return a Python float (use loss.item()), not a {ev.value_type}")
    for ld in student.run("load_call", sizes=LOAD_SIZES):
        expect(ld.is_linear_model, f"load should return a LinearModel, not a {ld.type}")


# ----------------------------------------------------------------------------- split

SIZE_CASES = [(23, 0.3), (10, 0.22), (10, 0.25), (7, 0.5), (50, 0.2), (23, None), (9, 0.1)]  # 9 * 0.1: no test row


def _split_size_cases(student):
    """One probe run: split on every SIZE_CASES entry (test_fraction None: the default 0.2), seed 0."""
    return student.run("split_cases", cases=[[n, 2, f, None if f is None else 0] for n, f in SIZE_CASES])


@check("values")
def test_split_sizes(student):
    """split puts int(len(X) * test_fraction) rows in the test set (default test_fraction=0.2)"""
    sizes = []
    for (n, f), case in zip(SIZE_CASES, _split_size_cases(student)):
        parts = _parts(case.call, 2)
        sizes.append((n, 0.2 if f is None else f, parts[2].shape[0], parts[0].shape[0]))
    wrong = [i for i, (n, f, n_test, _) in enumerate(sizes) if n_test != int(n * f)]
    if not wrong:
        return
    n, f, n_test, _ = sizes[wrong[0]]
    want = int(n * f)
    where = f"len(X) = {n}, test_fraction = {f}" + (" (the default)" if SIZE_CASES[wrong[0]][1] is None else "")
    if all(t == n_ - int(n_ * f_) and r == int(n_ * f_) for n_, f_, t, r in sizes):
        raise Mistake(f"train and test are swapped: with {where} the test set should have {want} "
                      f"rows and the training set {n - want}")
    if all(t == math.ceil(n_ * f_) for n_, f_, t, _ in sizes):
        raise Mistake(f"with {where} the test set has {n_test} rows, expected {want}: n_test is "
                      "int(len(X) * test_fraction), rounded down, not up")
    if all(t == round(n_ * f_) for n_, f_, t, _ in sizes):
        raise Mistake(f"with {where} the test set has {n_test} rows, expected {want}: n_test is "
                      "int(len(X) * test_fraction), which truncates; do not round")
    if want == 0 and n_test == n:
        raise Mistake(f"with {where} the test set should be empty (int({n} * {f}) = 0) but took every row: "
                      "slicing with a negative index, order[-n_test:], gives the whole order when n_test is 0; "
                      "take order[:n_test] for test and order[n_test:] for train")
    raise Mistake(f"with {where} the test set has {n_test} rows, expected int({n} * {f}) = {want}")


@check("values", points=2)
def test_split_partition(student):
    """split keeps rows of X and y paired; train and test are disjoint and hold every row once"""
    for (n, _), got in zip(SIZE_CASES, _split_size_cases(student)):
        X, y = got.X, got.y
        train, test, parts = _split_ids(got.call, X)
        for ids, ypart, name in ((train, parts[1], "train"), (test, parts[3], "test")):
            expect(torch.equal(ypart, y[torch.tensor(ids, dtype=torch.long)].reshape(ypart.shape)),
                   f"the rows of X and y are no longer paired in the {name} set: select X and y "
                   "with the same indices")
        expect(len(set(train)) == len(train) and len(set(test)) == len(test),
               "a row appears more than once in the same set: use a permutation (torch.randperm), "
               "not random indices drawn with replacement")
        shared = set(train) & set(test)
        expect(not shared, f"train and test share {len(shared)} row(s); they must be disjoint "
               "(test = the first n_test shuffled indices, train = the rest)")
        missing = set(range(n)) - set(train) - set(test)
        expect(not missing, f"{len(missing)} row(s) of X are in neither the training nor the test set")


@check("values")
def test_split_reproducible(student):
    """split with the same seed gives the same split, call after call"""
    got = student.run("split_call", n=40, features=2, test_fraction=0.25, seed=3, repeat=3)
    X = got.X
    splits = [_split_ids(call, X)[:2] for call in got.calls]
    sets = [(sorted(tr), sorted(te)) for tr, te in splits]
    expect(sets[0] == sets[1] == sets[2],
           "calling split twice with the same seed gave different splits: draw the permutation with "
           "a generator seeded by `seed` (torch.Generator().manual_seed(seed))")
    again = student.run("split_call", n=40, features=2, test_fraction=0.25, seed=3)
    expect(sorted(_split_ids(again.calls[0], X)[1]) == sets[0][1],
           "split with the same seed gave a different split in a fresh process: seed the shuffle with `seed`")


@check("values")
def test_split_depends_on_seed(student):
    """split is a random shuffle: different seeds give different test sets"""
    seeds = [0, 1, 2, 7]
    got = student.run("split_seeds_call", n=40, features=2, test_fraction=0.25, seeds=seeds)
    X = got.X
    tests = [frozenset(_split_ids(call, X)[1]) for call in got.calls]
    if len(set(tests)) == 1:
        if tests[0] in (frozenset(range(10)), frozenset(range(30, 40))):
            raise Mistake("split does not shuffle: the test set is the same block of rows for every "
                          "seed; shuffle the row indices (torch.randperm with a seeded generator)")
        raise Mistake("split gives the same test set for every seed: use `seed` to seed the shuffle "
                      "instead of a fixed number")
    expect(len(set(tests)) == len(tests), "two different seeds gave the same test set: seed the shuffle with `seed`")


# ----------------------------------------------------------------------------- LinearModel

@check("values")
def test_linear_model(student):
    """LinearModel(in_features) is one affine map (in_features weights and a bias) from (N, in) to (N, 1)"""
    for n, params in zip(SIZES, student.run("linear_model_params", sizes=SIZES)):
        expect(params.is_module, f"LinearModel({n}) should be an nn.Module, got {params.type}")
        expect(params.n_params == n + 1,
               f"LinearModel({n}) has {params.n_params} parameters, expected {n + 1}: one weight per input "
               "feature and one bias, i.e. nn.Linear(in_features, 1) (in_features, not a fixed number)")
        expect(params.all_trainable, "some parameters of LinearModel do not require grad")
    for n, got in zip(SIZES, student.run("linear_model_call", sizes=SIZES)):
        out = tensor_of(got.out, f"LinearModel({n}) on a (7, {n}) batch", shape=[7, 1])
        basis = tensor_of(got.on_basis, "LinearModel's output", shape=[n + 1, 1])
        b, w = basis[0], basis[1:] - basis[0]
        expect_close(out, got.X @ w + b,
                     f"LinearModel({n}) is not a linear map of its input (no hidden layers or activations)")
        expect(got.params_with_grad == got.n_tensors,
               "some parameters of LinearModel get no gradient: the output must be computed from them")


# ----------------------------------------------------------------------------- loss and optimizer

@check("values")
def test_loss_is_mse(student):
    """make_loss_and_optimizer's loss_fn is the mean squared error and is differentiable"""
    got = student.run("loss_and_optimizer_call", lr=0.1)
    expect(got.pair, f"make_loss_and_optimizer should return (loss_fn, optimizer), not a {got.type}")
    pred, target = got.pred, got.target
    sq = (pred - target) ** 2
    loss = tensor_of(got.loss, "loss_fn(pred, target)", dtype=None)
    expect(loss.numel() == 1, f"loss_fn(pred, target) has shape {tuple(loss.shape)}: it should be one "
           "number, the mean over all elements (nn.MSELoss() with reduction='mean')")
    value = loss.reshape(()).double()
    if not close(value, sq.mean().double()):
        for wrong, why in ((sq.sum(), "the squared errors are summed, not averaged: use reduction='mean'"),
                           ((pred - target).abs().mean(), "this is the mean absolute error; use the mean "
                                                          "squared error (nn.MSELoss())"),
                           (sq.mean().sqrt(), "this is the root of the mean squared error; drop the sqrt"),
                           (sq.mean() / 2, "the loss is half the mean squared error; use nn.MSELoss()")):
            expect(not close(value, wrong.double()), why)
        raise Mistake(f"loss_fn(pred, target) = {value.item():.5f}, but the mean squared error is "
                      f"{sq.mean().item():.5f}: use nn.MSELoss()")
    expect(got.loss.requires_grad and got.pred_grad is not None,
           "the loss is not differentiable (no graph back to the prediction): return a tensor built from "
           "pred, not a float")
    expect_close(got.pred_grad, 2 * (pred - target) / pred.numel(),
                 "the gradient of the loss is not that of the mean squared error")


def _fit_scale(d, g):
    num = sum((a.double() * b.double()).sum() for a, b in zip(d, g))
    den = sum((b.double() ** 2).sum() for b in g)
    return float(num / den)


@check("values", points=2)
def test_optimizer_is_sgd(student):
    """make_loss_and_optimizer's optimizer is plain SGD (p -= lr * p.grad) over all the model's parameters"""
    for lr in (0.1, 0.03):
        got = student.run("loss_and_optimizer_call", lr=lr)
        expect(got.pair, f"make_loss_and_optimizer should return (loss_fn, optimizer), not a {got.type}")
        before, after1, after2, g1, g2 = got.before, got.after1, got.after2, got.g1, got.g2
        d1 = [b - a for b, a in zip(before, after1)]
        d2 = [b - a for b, a in zip(after1, after2)]
        want1 = [lr * g for g in g1]
        want2 = [lr * g for g in g2]
        if close(d1, want1) and close(d2, want2):
            continue
        frozen = sum(1 for a, b in zip(d1, d2) if not a.any() and not b.any())
        if frozen:
            raise Mistake(f"the optimizer left {frozen} of the model's {len(d1)} parameter tensors unchanged: "
                          "build it over model.parameters()")
        scale = _fit_scale(d1, g1)
        if close(d1, [scale * g for g in g1]) and close(d2, [scale * g for g in g2]):
            raise Mistake(f"the optimizer's learning rate is {scale:.4g}, not the lr it was given ({lr}): "
                          "pass lr=lr to torch.optim.SGD")
        if close(d1, want1):
            m = _fit_scale([a / lr - b for a, b in zip(d2, g2)], g1)
            if abs(m) > 1e-3 and close(d2, [lr * (m * a + b) for a, b in zip(g1, g2)]):
                raise Mistake(f"the optimizer uses momentum ({m:.3g}); plain SGD has none")
        if all(close(a, lr * b.sign(), rtol=ADAM_STEP.rtol, atol=ADAM_STEP.atol * lr) for a, b in zip(d1, g1)):
            raise Mistake("the first update has size lr for every element, as Adam's does: use "
                          "torch.optim.SGD(model.parameters(), lr=lr)")
        raise Mistake(f"the optimizer's update is not p -= lr * p.grad with lr={lr} (weight decay, momentum "
                      "or another optimizer?): use plain torch.optim.SGD(model.parameters(), lr=lr)")


# ----------------------------------------------------------------------------- fit

FIT_CASES = [("mse", 0.1, 12), ("l1", 0.05, 5)]


@check("values", points=2)
def test_fit_trajectory(student, reference):
    """fit takes one full-batch step per epoch with the given loss and optimizer and records each loss before its step"""
    for loss, lr, epochs in FIT_CASES:
        got = student.run("fit_call", loss=loss, lr=lr, epochs=epochs)
        want = reference.run("fit_call", loss=loss, lr=lr, epochs=epochs)
        losses, ref = got.losses, want.losses
        if close(got.final, want.final) and close(losses, ref) and got.steps == epochs:
            continue
        expect(got.steps == epochs,
               f"with epochs={epochs} fit called optimizer.step() {got.steps} times: take exactly one "
               "full-batch step per epoch")
        expect(not close(got.final, got.init, tol=MOVED),
               "fit did not change the parameters: call loss.backward() and then optimizer.step(), and do "
               "not clear the gradients between the two")
        if loss == "mse":
            X, y = got.X.double(), got.y.double()
            acc = descent_without_zero_grad(got.init, lambda w, b: ((X @ w.T + b - y) ** 2).mean(),
                                            lr, epochs)
            if close(got.final, acc, tol=REPLAYED):
                raise Mistake("the parameters moved as if gradients were never cleared: call "
                              "optimizer.zero_grad() once every epoch")
        if len(losses) == len(ref) and None not in losses and close(losses[:-1], ref[1:]):
            raise Mistake("losses[i] should be the loss computed before the i-th step; yours are recorded "
                          "after it (use the loss you called backward() on)")
        expect(len(losses) == len(ref), f"with epochs={epochs} fit should return {len(ref)} losses, got {len(losses)}")
        if loss == "l1" and not close(got.final, want.final):
            raise Mistake("fit does not follow the loss_fn it is given (tested with nn.L1Loss): compute "
                          "loss = loss_fn(model(X), y)")
        expect_close(got.final, want.final,
                     f"after {epochs} epochs of fit the parameters differ from full-batch gradient descent")
        expect_close(losses, ref, "the losses returned by fit differ from full-batch gradient descent")


@check("modes")
def test_fit_train_mode(student):
    """fit runs the model in train mode, even one handed over in eval mode"""
    got = student.run("fit_call", loss="mse", lr=0.1, epochs=4, start_eval=True)
    log = got.log
    expect(log, "fit never called the model")
    expect(all(f.training for f in log),
           "fit ran the model in eval mode (it was handed over in eval mode): call model.train() "
           "before the loop")
    expect(any(f.facts.graph for f in log), "fit ran the model with autograd switched off")


@check("loss-decrease", points=2)
def test_workflow_learns(student):
    """LinearModel, make_loss_and_optimizer and fit together learn a noisy linear relation"""
    got = student.run("workflow_call", lr=0.1, epochs=100)
    losses = got.losses
    expect(len(losses) == 100 and None not in losses, "fit did not return 100 losses for epochs=100")
    expect(all(math.isfinite(v) for v in losses), "the training loss became inf or nan")
    expect(losses[-1] < 0.05 * losses[0],
           f"the training loss fell only from {losses[0]:.3f} to {losses[-1]:.3f} in 100 epochs with lr=0.1")
    expect(got.test_mse < 0.05,
           f"after training, the mean squared error on held-out data is {got.test_mse:.3f} (the noise "
           "alone gives about 0.01)")


# ----------------------------------------------------------------------------- evaluate

@check("modes", points=2)
def test_evaluate_eval_mode(student, reference):
    """evaluate switches the model to eval mode (dropout off) and returns the loss"""
    got = student.run("evaluate_call")
    want = reference.run("evaluate_call")
    expect(got.log, "evaluate never called the model")
    expect(not any(f.training for f in got.log),
           "evaluate ran the model in train mode (dropout was active): call model.eval() first")
    value = got.value_float
    expect(value is not None, f"evaluate should return the loss as a float, not a {got.value_type}")
    expect_close(value, want.value_float,
                 f"evaluate returned {value:.5f}, but the loss_fn on (model(X), y) in eval mode is "
                 f"{want.value_float:.5f}: return loss_fn(model(X), y).item()")


@check("modes")
def test_evaluate_no_graph(student):
    """evaluate records no graph and leaves autograd switched on"""
    got = student.run("evaluate_call")
    expect(got.log, "evaluate never called the model")
    message = graph_mistake([f.facts for f in got.log], "evaluate")
    expect(message is None, message)
    expect(got.grad_enabled_after,
           "autograd is still switched off after evaluate: use `with torch.no_grad():` so it is restored")
    expect(got.params_require_grad,
           "evaluate switched off requires_grad on the model's parameters; use torch.no_grad() instead")


# ----------------------------------------------------------------------------- save / load

MAX_UNPACKED_BYTES = 16 << 20


def _load_bytes(tensor):
    """Load a file's bytes here, in the trusted process, as the README promises it loads."""
    return load_untrusted(tensor.numpy().tobytes(), MAX_UNPACKED_BYTES)


@check("checkpoint", points=2)
def test_save_state_dict_file(student):
    """save writes the model's state_dict, a file that torch.load(path, weights_only=True) reads"""
    got = student.run("save_call", in_features=3)
    expect(got.exists, "save did not write a file at the path it was given "
           f"(files written: {', '.join(got.files_written) or 'none'})")
    expect(got.file is not None, f"the file save wrote is {got.size} bytes; a small model's "
           "state_dict takes a few kB: save model.state_dict() only")
    try:
        obj = _load_bytes(got.file)
    except Exception as exc:
        raise Mistake("the saved file does not load with torch.load(path, weights_only=True) "
                      f"({type(exc).__name__}): save model.state_dict(), not the model object") from None
    state = got.state
    expect(isinstance(obj, Mapping), f"the saved file holds a {type(obj).__name__}, not a state_dict: "
           "torch.save(model.state_dict(), path)")
    keys = sorted(str(k) for k in obj.keys())
    if keys != sorted(state):
        inner = [v for v in obj.values() if isinstance(v, Mapping)]
        expect(not inner, "the saved file wraps the state_dict in another dict: save model.state_dict() itself")
        raise Mistake(f"the saved state_dict has keys {keys}, but the model's are {sorted(state)}: "
                      "save model.state_dict()")
    for k in state:
        expect(isinstance(obj[k], torch.Tensor) and close(obj[k], state[k]),
               f"the saved `{k}` differs from the model's current `{k}`: save model.state_dict() "
               "when save is called")


@check("checkpoint", points=2)
def test_load_round_trip(student):
    """load(path, in_features) returns a LinearModel(in_features) holding the saved weights"""
    for n, got in zip(LOAD_SIZES, student.run("load_call", sizes=LOAD_SIZES)):
        expect(got.is_linear_model, f"load should return a LinearModel, not a {got.type}")
        out = tensor_of(got.out, f"the loaded LinearModel({n})'s output", shape=got.expected.shape)
        expect_close(out, got.expected.values,
                     f"the model load returned (in_features={n}) does not compute what the saved one did: "
                     "build LinearModel(in_features) and load_state_dict(torch.load(path, weights_only=True))")
