"""Hidden checks for exercise17: shard against DistributedSampler itself, and train_ddp run as
two ranks forked in the worker (see probes.py), compared with the reference's run and with
the grader's own arithmetic of what DDP does (gradients averaged over the ranks)."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler

from grader.checks import LOOSE, Mistake, check, close, expect
from grader.suites.exercise17_ddp.probes import (EPOCHS, LR, N, SHARD_EPOCH0, SHARD_LATER, WORLD, D,
                                                 ddp_data)


def _sampler(n, rank, world_size, epoch, seed, **options):
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank,
                                 **{"shuffle": True, "seed": seed, **options})
    sampler.set_epoch(epoch)
    return list(sampler)


def _call(case):
    n, rank, world_size, epoch, seed = case
    return f"shard({n}, {rank}, {world_size}, {epoch}, seed={seed})"


# ---- shard ----

def _first_error(got):
    for c in got:
        if c.error:
            raise Mistake(f"{_call(c.case)}: {c.error}")


@check("api")
def test_api(student):
    """shard and train_ddp exist with the README's signatures; shard can be called"""
    student.expect_api()
    _first_error(student.run("shard_cases"))


@check("api")
def test_shard_returns_list(student):
    """shard returns a list of Python ints (not the sampler, a generator or a tensor)"""
    got = student.run("shard_cases")
    _first_error(got)
    for c in got:
        if c.ints:
            continue
        kind = c.type
        if kind == "DistributedSampler":
            raise Mistake("shard returned the DistributedSampler itself: return list(sampler), the indices it yields")
        if kind == "Tensor":
            raise Mistake("shard returned a tensor: return a list of Python ints (list(sampler), or .tolist())")
        if kind == "list":
            raise Mistake(f"shard returned a list of {', '.join(c.item_types)}, not of Python ints: "
                          "return list(sampler) (or convert with int(...))")
        raise Mistake(f"shard returned a {kind}, not a list: return list(sampler) (the indices it yields)")


def _diagnose_shard(c, later: bool) -> str:
    case = c.case
    n, rank, world_size, epoch, seed = case
    got = c.indices
    want = _sampler(*case)
    call = _call(case)
    if got is None:
        return f"{call} returned a {c.type} that is not a sequence of indices"
    if later and got == _sampler(n, rank, world_size, 0, seed):
        return (f"{call} gave the order of epoch 0: call sampler.set_epoch(epoch) before reading the "
                "indices, so every epoch is shuffled differently")
    if got == _sampler(*case, shuffle=False):
        return f"{call} is not shuffled: create the DistributedSampler with shuffle=True"
    if got == _sampler(*case, drop_last=True):
        return (f"{call} dropped the padding: with drop_last=False (the default) the sampler repeats the first "
                f"indices so that each of the {world_size} ranks gets ceil(n / world_size) = "
                f"{math.ceil(n / world_size)} of them")
    if seed != 0 and got == _sampler(n, rank, world_size, epoch, 0):
        return f"{call} ignored the seed: pass seed=seed to DistributedSampler"
    if len(got) != len(want):
        return (f"{call} returned {len(got)} indices, but each of the {world_size} ranks gets "
                f"ceil(n / world_size) = {len(want)} (the sampler pads by repeating indices)")
    others = [_sampler(n, r, world_size, epoch, seed) for r in range(world_size) if r != rank]
    if got in others:
        return (f"{call} returned another rank's indices: DistributedSampler(..., num_replicas=world_size, "
                "rank=rank) (check the order of the arguments)")
    if sorted(got) == sorted(want):
        return f"{call} has the right indices in the wrong order: return them in the order the sampler yields"
    return (f"{call} returned {got}, but DistributedSampler(range(n), num_replicas=world_size, rank=rank, "
            f"shuffle=True, seed=seed) after set_epoch(epoch) gives {want}: use the sampler itself (its own "
            "random permutation cannot be reproduced with another one)")


def _check_shards(got, cases, later):
    _first_error(got)
    for c in got:
        if tuple(c.case) in cases and c.indices != _sampler(*c.case):
            raise Mistake(_diagnose_shard(c, later))


@check("values", points=2)
def test_shard_values(student):
    """shard(n, rank, world_size, 0, seed) equals DistributedSampler's indices (padding, world_size 1, seeds)"""
    _check_shards(student.run("shard_cases"), set(SHARD_EPOCH0), later=False)


@check("values")
def test_shard_epochs(student):
    """shard reshuffles every epoch exactly as DistributedSampler.set_epoch(epoch) does"""
    _check_shards(student.run("shard_cases"), set(SHARD_LATER), later=True)


# ---- train_ddp: the run ----

def _finished(got):
    """Every rank returned from train_ddp without raising; else a Mistake saying what happened."""
    ranks = got.ranks
    hung = [r.rank for r in ranks if r.timed_out]
    if hung:
        who = "both ranks" if len(hung) == len(ranks) else f"rank {hung[0]}"
        others = [r for r in ranks if not r.timed_out and r.record and r.record.error]
        also = f" (rank {others[0].rank} raised {others[0].record.error})" if others else ""
        raise Mistake(f"{who} did not finish within {got.seconds:g} s and had to be stopped{also}: a rank waits "
                      "forever for a rank that never joins (every rank must call dist.init_process_group with "
                      "its own rank and the same world_size) or for a collective the other rank never reaches "
                      "(e.g. a forward/backward or barrier run by rank 0 alone)")
    for r in ranks:
        rec = r.record
        if rec is None:
            raise Mistake(f"rank {r.rank} ended (exit status {r.exit}) before train_ddp returned: do not call "
                          "sys.exit or os._exit inside train_ddp")
        if rec.error:
            raise Mistake(f"rank {r.rank}: {rec.error}")
    return ranks


def _epoch_indices(rec):
    """The rows of X each epoch's step was computed on (forwards grouped by optimizer step)."""
    forwards = rec.forwards
    if not rec.steps:
        return [list(f) for f in forwards]
    out, start = [], 0
    for step in rec.steps:
        out.append([i for f in forwards[start:step.forwards] for i in f])
        start = step.forwards
    return out


def _local_grads(weight, bias, idx):
    X, y = ddp_data()
    w = weight.clone().requires_grad_(True)
    b = bias.clone().requires_grad_(True)
    F.mse_loss(X[idx] @ w.T + b, y[idx]).backward()
    return w.grad, b.grad


@check("values")
def test_ddp_shards(student):
    """train_ddp trains each rank on its own shard, reshuffled every epoch (set_epoch)"""
    ranks = _finished(student.run("ddp_run"))
    for r in ranks:
        rank, used = r.rank, _epoch_indices(r.record)
        expect(used, f"rank {rank} never ran the model (an nn.Linear) on the data")
        for epoch, idx in enumerate(used[:EPOCHS]):
            want = _sampler(N, rank, WORLD, epoch, 0)
            if sorted(idx) == sorted(want):
                continue
            if -1 in idx:
                raise Mistake(f"rank {rank} fed the model rows that are not rows of X: train on X[idx] and y[idx] "
                              "with idx the indices of this rank's shard")
            if sorted(idx) == list(range(N)):
                raise Mistake(f"rank {rank} trained on the whole data set in epoch {epoch}, not on its shard: take "
                              "the rows DistributedSampler(..., num_replicas=world_size, rank=rank) gives this rank")
            if sorted(idx) == sorted(_sampler(N, rank, WORLD, 0, 0)):
                raise Mistake(f"rank {rank} got the same shard in epoch {epoch} as in epoch 0: call "
                              "sampler.set_epoch(epoch) at the start of every epoch")
            if sorted(idx) == sorted(_sampler(N, 1 - rank, WORLD, epoch, 0)):
                raise Mistake(f"rank {rank} trained on rank {1 - rank}'s shard: pass rank=rank to the sampler")
            raise Mistake(f"in epoch {epoch}, rank {rank} trained on rows {sorted(idx)}, but its shard is "
                          f"{sorted(want)} (DistributedSampler with shuffle=True, seed 0, set_epoch(epoch))")
        expect(len(used) == EPOCHS, f"rank {rank} made {len(used)} training steps for epochs={EPOCHS}: one "
               "full-shard step per epoch")


@check("gradients", points=2)
def test_ddp_gradients(student):
    """At every optimizer.step(), each rank holds the gradient averaged over both ranks' shards (DDP all-reduce)"""
    ranks = _finished(student.run("ddp_run"))
    recs = [r.record for r in ranks]
    for rec in recs:
        n = len(rec.steps)
        expect(n > 0, f"rank {rec.rank} never called optimizer.step()")
        expect(n == EPOCHS, f"rank {rec.rank} called optimizer.step() {n} times for epochs={EPOCHS}: one "
               "full-shard step per epoch")
    used = [_epoch_indices(rec) for rec in recs]
    if any(-1 in idx for u in used for idx in u):
        raise Mistake("the model was fed rows that are not rows of X, so its gradients cannot be those of "
                      "the shards: train on X[idx] and y[idx]")
    for rec in recs:
        rank = rec.rank
        for epoch, step in enumerate(rec.steps):
            grads = [step.weight_grad, step.bias_grad]
            expect(all(g is not None for g in grads), f"rank {rank} called optimizer.step() without gradients: "
                   "call loss.backward() before the step")
            local = [_local_grads(step.weight, step.bias, used[r][epoch]) for r in range(WORLD)]
            want = [sum(lg[i] for lg in local) / WORLD for i in range(2)]
            if close(grads, want):
                continue
            if close(grads, list(local[rank])):
                raise Mistake(f"rank {rank}'s gradients at optimizer.step() are those of its own shard only, not "
                              "averaged over the ranks: wrap the model in DistributedDataParallel (DDP(model)) and "
                              "call the wrapped model, so that backward all-reduces the gradients")
            if close(grads, [g / WORLD for g in want]):
                raise Mistake("the gradients are half the average over the ranks: DDP already averages them, so "
                              "do not divide the loss (or the gradients) by world_size")
            size = len(used[rank][epoch])
            if close(grads, [g * size for g in want], tol=LOOSE):
                raise Mistake("the gradients are those of the sum of squared errors: use the mean (nn.MSELoss())")
            raise Mistake(f"in epoch {epoch}, rank {rank}'s gradients at optimizer.step() are not the average over "
                          "the ranks of the MSE gradients on each shard: loss = nn.MSELoss()(model(X[idx]), "
                          "y[idx]), then loss.backward() on the DDP-wrapped model")


def _state(saved):
    if saved is None:
        return None
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in saved.items()}


def _simulate(epoch_shards, init, lr=LR, steps=EPOCHS):
    """Where full-shard SGD ends when each step's gradient is the mean over `epoch_shards(epoch)`."""
    weight, bias = init
    for epoch in range(steps):
        local = [_local_grads(weight, bias, idx) for idx in epoch_shards(epoch)]
        weight = weight - lr * sum(g[0] for g in local) / len(local)
        bias = bias - lr * sum(g[1] for g in local) / len(local)
    return {"weight": weight, "bias": bias}


def _initial():
    torch.manual_seed(0)
    lin = nn.Linear(D, 1)
    return lin.weight.detach().clone(), lin.bias.detach().clone()


@check("values", points=2)
def test_ddp_weights(student, reference):
    """The weights rank 0 saves equal the reference's after `epochs` DDP steps of SGD(lr) on the MSE"""
    got = student.run("ddp_run")
    ranks = _finished(got)
    state = _state(got.saved)
    want = _state(reference.run("ddp_run").saved)
    expect(state is not None, "no state_dict was found at out_path to compare: rank 0 should "
           "torch.save(model.module.state_dict(), out_path)")
    expect(set(state) == set(want), f"out_path holds the keys {sorted(state)}, not the Linear's "
           f"{sorted(want)}: save model.module.state_dict()")
    if close(state, want):
        return
    init = _initial()
    steps = ranks[0].record.steps
    if steps and not close([steps[0].weight, steps[0].bias], list(init)):
        raise Mistake("training did not start from the weights of torch.manual_seed(0) followed by "
                      "nn.Linear(X.shape[1], 1): seed torch with 0 right before building the model")
    shards = lambda epoch: [_sampler(N, r, WORLD, epoch, 0) for r in range(WORLD)]  # noqa: E731
    candidates = {
        "are still the initial weights: the model was not trained (or not the trained one was saved)":
            {"weight": init[0], "bias": init[1]},
        "are those of training on rank 0's shard alone: wrap the model in DistributedDataParallel so the "
        "gradients are averaged over the ranks": _simulate(lambda e: shards(e)[:1], init),
        "are those of training on the whole data set: train each rank on its shard":
            _simulate(lambda e: [list(range(N))], init),
        "are those of the same shards every epoch: call sampler.set_epoch(epoch) each epoch":
            _simulate(lambda e: shards(0), init),
        "are those of SGD with half the learning rate: DDP already averages the gradients, do not divide "
        "the loss by world_size": _simulate(shards, init, lr=LR / WORLD),
        f"are those of {EPOCHS - 1} steps: one step per epoch": _simulate(shards, init, steps=EPOCHS - 1),
        f"are those of {EPOCHS + 1} steps: one step per epoch": _simulate(shards, init, steps=EPOCHS + 1),
    }
    for message, candidate in candidates.items():
        if close(state, candidate):
            raise Mistake(f"the weights saved at out_path {message}")
    raise Mistake(f"the weights saved at out_path differ from {EPOCHS} steps of SGD(lr={LR}) on the MSE, averaged "
                  "over the ranks by DDP (check the optimizer, its learning rate and the loss)")


@check("checkpoint")
def test_ddp_saves(student):
    """Rank 0 alone writes the trained state_dict to out_path (it loads with weights_only=True)"""
    got = student.run("ddp_run")
    ranks = _finished(got)
    for r in ranks[1:]:
        saves = r.record.saves
        expect(not saves, f"rank {r.rank} also called torch.save: only rank 0 should write the model "
               "(if rank == 0: torch.save(...)); the ranks hold the same weights")
    saves = ranks[0].record.saves
    out_path = got.out_path
    if not got.exists:
        elsewhere = [s for s in saves if s != out_path]
        expect(not elsewhere, f"rank 0 saved to {elsewhere[0] if elsewhere else ''}, not to out_path")
        raise Mistake("nothing was written at out_path: rank 0 should torch.save(model.module.state_dict(), "
                      "out_path)")
    expect(got.load_error is None, f"out_path does not load with torch.load(out_path, weights_only=True) "
           f"({got.load_error}): save model.module.state_dict(), not the model object")
    state = _state(got.saved)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    expect(shapes == {"weight": (1, D), "bias": (1,)}, f"out_path holds {shapes}, not the state_dict of "
           f"nn.Linear({D}, 1) (weight (1, {D}) and bias (1,)): save model.module.state_dict()")


@check("modes")
def test_ddp_destroys_group(student):
    """train_ddp leaves the process group destroyed in every rank"""
    ranks = _finished(student.run("ddp_run"))
    for r in ranks:
        expect(not r.record.initialized_after, f"rank {r.rank} left the process group initialized: call "
               "dist.destroy_process_group() at the end of train_ddp, in every rank (a try/finally also "
               "cleans up after an error)")
