TITLE = "Data-parallel training with DistributedDataParallel"
MODULE = "ddp"
API = [
    "shard(n, rank, world_size, epoch, seed=0)",
    "train_ddp(rank, world_size, init_file, X, y, epochs, lr, out_path)",
]
