"""exercise17_ddp: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

LOSS = "            loss = loss_fn(model(X[idx]), y[idx])\n"
HUNG = "did not finish within"
NOT_IMPLEMENTED = "not implemented"
DDP_CHECKS = ("ddp_shards", "ddp_gradients", "ddp_weights", "ddp_saves", "ddp_destroys_group")

MISTAKES = {
    "shard_no_set_epoch": (
        [("    sampler.set_epoch(epoch)\n    return list(sampler)", "    return list(sampler)")],
        {"shard_epochs": "order of epoch 0"}),
    "shard_not_shuffled": (
        [("rank=rank, shuffle=True, seed=seed)", "rank=rank, shuffle=False, seed=seed)")],
        {"shard_values": "not shuffled", "shard_epochs": "not shuffled"}),
    "shard_drop_last": (
        [("rank=rank, shuffle=True, seed=seed)", "rank=rank, shuffle=True, seed=seed, drop_last=True)")],
        {"shard_values": "dropped the padding", "shard_epochs": "dropped the padding"}),
    "shard_ignores_seed": (
        [("rank=rank, shuffle=True, seed=seed)", "rank=rank, shuffle=True)")],
        {"shard_values": "ignored the seed", "shard_epochs": "ignored the seed"}),
    "shard_rank_and_world_size_swapped": (
        [("num_replicas=world_size, rank=rank, shuffle=True, seed=seed)",
          "num_replicas=rank, rank=world_size, shuffle=True, seed=seed)")],
        {"api": "invalid rank", "shard_returns_list": "invalid rank", "shard_values": "invalid rank", "shard_epochs": "invalid rank"}),
    "shard_returns_sampler": (
        [("    return list(sampler)", "    return sampler")],
        {"shard_returns_list": "the distributedsampler itself"}),
    "shard_returns_generator": (
        [("    return list(sampler)", "    return (i for i in sampler)")],
        {"shard_returns_list": "generator, not a list"}),
    "shard_returns_tensor": (
        [("    return list(sampler)", "    return torch.tensor(list(sampler))")],
        {"shard_returns_list": "tensor"}),
    "shard_own_permutation": (
        [("    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)\n"
          "    sampler.set_epoch(epoch)\n    return list(sampler)",
          "    import random\n    idx = list(range(n))\n    random.Random(seed + epoch).shuffle(idx)\n"
          "    per_rank = -(-n // world_size)\n    idx += idx[: per_rank * world_size - n]\n"
          "    return idx[rank::world_size]")],
        {"shard_values": "use the sampler itself", "shard_epochs": "use the sampler itself"}),
    "shard_not_implemented": (
        [("    sampler = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)\n",
          "    raise NotImplementedError('TODO')\n")],
        {"api": NOT_IMPLEMENTED, "shard_returns_list": NOT_IMPLEMENTED, "shard_values": NOT_IMPLEMENTED, "shard_epochs": NOT_IMPLEMENTED}),
    "no_destroy_process_group": (
        [("    finally:\n        dist.destroy_process_group()", "    finally:\n        pass")],
        {"ddp_destroys_group": "destroy_process_group()"}),
    "every_rank_saves": (
        [("        if rank == 0:\n            torch.save(", "        if True:\n            torch.save(")],
        {"ddp_saves": "only rank 0 should write"}),
    "saves_the_model_object": (
        [("torch.save(model.module.state_dict(), out_path)", "torch.save(model.module, out_path)")],
        {"ddp_saves": "weights_only=True", "ddp_weights": "no state_dict"}),
    "no_set_epoch": (
        [("            sampler.set_epoch(epoch)\n", "")],
        {"ddp_shards": "same shard", "ddp_weights": "set_epoch"}),
    "trains_on_full_data": (
        [(LOSS, "            loss = loss_fn(model(X), y)\n")],
        {"ddp_shards": "whole data set", "ddp_weights": "whole data set"}),
    "no_ddp_wrapper": (
        [("model = DDP(nn.Linear(X.shape[1], 1))", "model = nn.Linear(X.shape[1], 1)"),
         ("model.module.state_dict()", "model.state_dict()")],
        {"ddp_gradients": "own shard only", "ddp_weights": "rank 0's shard alone"}),
    "loss_divided_by_world_size": (
        [(LOSS, "            loss = loss_fn(model(X[idx]), y[idx]) / world_size\n")],
        {"ddp_gradients": "do not divide", "ddp_weights": "half the learning rate"}),
    "sum_of_squared_errors": (
        [("    loss_fn = nn.MSELoss()", "    loss_fn = nn.MSELoss(reduction=\"sum\")")],
        {"ddp_gradients": "sum of squared errors", "ddp_weights": "differ from"}),
    "wrong_learning_rate": (
        [("SGD(model.parameters(), lr=lr)", "SGD(model.parameters(), lr=0.01)")],
        {"ddp_weights": "differ from"}),
    "not_seeded": (
        [("        torch.manual_seed(0)\n", "")],
        {"ddp_weights": "manual_seed(0)"}),
    "no_optimizer_step": (
        [("            optimizer.step()\n", "")],
        {"ddp_gradients": "never called optimizer.step()", "ddp_weights": "still the initial weights"}),
    "one_epoch_short": (
        [("        for epoch in range(epochs):", "        for epoch in range(epochs - 1):")],
        {"ddp_shards": "3 training steps", "ddp_gradients": "3 times", "ddp_weights": "3 steps"}),
    "only_rank0_joins_the_group": (
        [("    dist.init_process_group(", "    if rank == 0:\n        dist.init_process_group(")],
        {name: HUNG for name in DDP_CHECKS}),
    "train_ddp_not_implemented": (
        [("    dist.init_process_group(", "    raise NotImplementedError('TODO')\n    dist.init_process_group(")],
        {name: NOT_IMPLEMENTED for name in DDP_CHECKS}),
    "wrong_signature": (
        [("def shard(n, rank, world_size, epoch, seed=0):", "def shard(n, rank, world_size, epoch, random_seed=0):\n"
          "    seed = random_seed")],
        {"api": "does not match", "shard_returns_list": "unexpected keyword", "shard_values": "unexpected keyword",
         "shard_epochs": "unexpected keyword"}),
}

ALTERNATIVES = {
    "shard_by_hand_like_the_sampler": '''
def shard(n, rank, world_size, epoch, seed=0):
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    indices = torch.randperm(n, generator=g).tolist()
    per_rank = (n + world_size - 1) // world_size
    total = per_rank * world_size
    while len(indices) < total:
        indices += indices[: total - len(indices)]
    return indices[rank:total:world_size]
''',
    "shard_int_conversion": '''
def shard(n, rank, world_size, epoch, seed=0):
    s = DistributedSampler(list(range(n)), world_size, rank, True, seed)
    s.set_epoch(epoch)
    return [int(i) for i in iter(s)]
''',
    "dataloader_with_sampler_functional_loss_prefixed_state": '''
import os
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def train_ddp(rank, world_size, init_file, X, y, epochs, lr, out_path):
    dist.init_process_group(backend="gloo", init_method="file://" + os.path.abspath(init_file),
                            world_size=world_size, rank=rank)
    torch.manual_seed(0)
    ddp_model = DDP(nn.Linear(X.shape[1], 1))
    opt = torch.optim.SGD(ddp_model.parameters(), lr)
    data = TensorDataset(X, y)
    sampler = DistributedSampler(data, num_replicas=world_size, rank=rank)
    loader = DataLoader(data, batch_size=len(sampler), sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            loss = F.mse_loss(ddp_model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if rank == 0:
        torch.save(ddp_model.state_dict(), out_path)
    dist.barrier()
    dist.destroy_process_group()
''',
    "uses_own_shard_and_detached_copy": '''
def train_ddp(rank, world_size, init_file, X, y, epochs, lr, out_path):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    torch.manual_seed(0)
    linear = nn.Linear(X.shape[1], 1)
    model = DDP(linear)
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr, momentum=0.0)
    for epoch in range(epochs):
        idx = torch.tensor(shard(len(X), rank, world_size, epoch))
        pred = model(X.index_select(0, idx))
        loss = ((pred - y[idx]) ** 2).mean()
        model.zero_grad()
        loss.backward()
        optimizer.step()
    if dist.get_rank() == 0:
        torch.save({k: v.detach().clone() for k, v in linear.state_dict().items()}, out_path)
    dist.destroy_process_group()
''',
}
