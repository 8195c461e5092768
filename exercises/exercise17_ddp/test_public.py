"""Public checks for exercise17. Run: pytest exercises/exercise17_ddp  (then: grade exercise17)

The training check starts two ranks as processes forked from pytest (fork: they inherit the
imported torch, so they start in milliseconds) and stops them if they hang.
"""

import gc
import multiprocessing
import sys

import torch
from torch.utils.data import DistributedSampler

import ddp
from ddp import shard, train_ddp

TIMEOUT = 30  # seconds; a rank that waits for a peer that never comes is stopped


def test_shard_is_the_samplers_list():
    for n, rank, world_size, epoch, seed in [(10, 1, 2, 0, 0), (11, 2, 3, 1, 0), (7, 0, 2, 3, 5)]:
        sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        got = shard(n, rank, world_size, epoch, seed=seed)
        assert type(got) is list and all(type(i) is int for i in got)
        assert got == list(sampler)


def test_shards_pad_and_reshuffle():
    ranks = [shard(7, r, 2, 0) for r in range(2)]
    assert [len(s) for s in ranks] == [4, 4]            # 7 rows, 2 ranks: one index repeated
    assert set(ranks[0]) | set(ranks[1]) == set(range(7))
    assert shard(7, 0, 2, 1) != shard(7, 0, 2, 0)        # set_epoch: a new order every epoch


def _keep_objects_alive():
    """Freeing a DDP model after destroy_process_group() now and then hangs inside torch, so this
    test keeps every object your functions held until the rank's process exits (no effect on results)."""
    kept, path = [], ddp.__file__

    def profile(frame, event, arg):
        if event == "return" and frame.f_code.co_filename == path:
            kept.append(dict(frame.f_locals))

    gc.disable()
    sys.setprofile(profile)


def _rank(rank, init_file, X, y, out_path, errors):
    _keep_objects_alive()
    try:
        train_ddp(rank, 2, init_file, X, y, 3, 0.1, out_path)
        sys.setprofile(None)
        errors.put((rank, None, torch.distributed.is_initialized()))
    except BaseException as exc:
        sys.setprofile(None)
        errors.put((rank, f"{type(exc).__name__}: {exc}", None))


def test_two_ranks_train_and_rank0_saves(tmp_path):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(8, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    init_file = str(tmp_path / "rendezvous")             # must not exist yet
    out_path = str(tmp_path / "model.pt")
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_rank, args=(r, init_file, X, y, out_path, errors)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(TIMEOUT)
    hung = [r for r, p in enumerate(procs) if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert not hung, f"ranks {hung} did not finish within {TIMEOUT} s (a rank waiting for the other?)"
    results = sorted(errors.get(timeout=5) for _ in procs)
    for rank, error, initialized in results:
        assert error is None, f"rank {rank}: {error}"
        assert initialized is False, f"rank {rank} left the process group initialized"
    state = torch.load(out_path, weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    assert state["weight"].shape == (1, 3) and state["bias"].shape == (1,)
    torch.manual_seed(0)
    initial = torch.nn.Linear(3, 1).weight
    assert not torch.allclose(state["weight"], initial), "the saved weights were not trained"
