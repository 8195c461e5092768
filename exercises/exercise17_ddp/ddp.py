"""Exercise 17: data-parallel training with DistributedDataParallel (CPU, gloo backend).

Fill in the two functions below. Read README.md first; run `grade exercise17` to grade.
"""

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler


def shard(n, rank, world_size, epoch, seed=0):
    """The indices `rank` gets in `epoch` from
    DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    after set_epoch(epoch), as a list of Python ints (padding included).
    """
    # TODO: build the sampler, call sampler.set_epoch(epoch), return list(sampler).
    raise NotImplementedError("TODO: shard")


def train_ddp(rank, world_size, init_file, X, y, epochs, lr, out_path):
    """One rank of data-parallel training.

    Joins the gloo process group through f"file://{init_file}", seeds torch with 0, builds
    nn.Linear(X.shape[1], 1), wraps it in DDP, and trains it with SGD(lr) on the MSE of this
    rank's shard of (X, y): one full-shard step per epoch, calling set_epoch each epoch.
    Rank 0 alone saves the trained state_dict to out_path; the process group is destroyed
    before returning.
    """
    # TODO: dist.init_process_group("gloo", init_method=..., rank=rank, world_size=world_size)
    # TODO: torch.manual_seed(0); model = DDP(nn.Linear(...)); optimizer; loss
    # TODO: a DistributedSampler over range(len(X)); each epoch: set_epoch, one step on X[idx], y[idx]
    # TODO: if rank == 0: save; and in every rank: dist.destroy_process_group()
    raise NotImplementedError("TODO: train_ddp")
