"""Reference solution: exercise17_ddp."""

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler


def shard(n, rank, world_size, epoch, seed=0):
    """The indices DistributedSampler (shuffle=True, seed) gives `rank` in `epoch`."""
    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def train_ddp(rank, world_size, init_file, X, y, epochs, lr, out_path):
    """One DDP rank: full-shard SGD steps on MSE; rank 0 saves the Linear's state_dict."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        torch.manual_seed(0)
        model = DDP(nn.Linear(X.shape[1], 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.MSELoss()
        sampler = DistributedSampler(range(len(X)), num_replicas=world_size, rank=rank, shuffle=True)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            idx = list(sampler)
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
        if rank == 0:
            torch.save(model.module.state_dict(), out_path)
    finally:
        dist.destroy_process_group()

def shard(n, rank, world_size, epoch, seed=0):
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    indices = torch.randperm(n, generator=g).tolist()
    per_rank = (n + world_size - 1) // world_size
    total = per_rank * world_size
    while len(indices) < total:
        indices += indices[: total - len(indices)]
    return indices[rank:total:world_size]
