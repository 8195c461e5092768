"""Probes for exercise17 (run in the worker on the submission; return plain data).

`shard_cases` calls shard on a grid of (n, rank, world_size, epoch, seed); the trusted side
compares with DistributedSampler itself (the spec). `ddp_run` forks WORLD ranks from the
worker (forking inherits the imported torch: no 2 s start-up per rank), each calling
train_ddp with a file:// rendezvous in the worker's own folder. Each rank spies on what it
does (a global forward pre-hook sees the rows reaching nn.Linear, a global optimizer
step pre-hook records the weights and gradients at every step, torch.save is recorded) and
writes its record to a status file; the worker waits RANK_SECONDS and kills ranks that
hang (a deadlocked rendezvous or collective). The data builders are also imported by the
trusted checks.
"""

import gc
import os
import signal
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.modules.module import register_module_forward_pre_hook
from torch.optim.optimizer import register_optimizer_step_pre_hook

from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)
from grader.worker.child import describe_exception

WORLD = 2
N, D = 7, 3          # 7 rows over 2 ranks: 4 each, one row repeated (padding), a different one each epoch
EPOCHS, LR = 4, 0.1
RANK_SECONDS = 3.0   # below the test suite's 5 s per probe, so a hang is reported as such
FOLDER = "ddp"
MAX_SAVES = 20

# (n, rank, world_size, epoch, seed): uneven n (padding), world_size 1, seeds other than 0
SHARD_EPOCH0 = [(10, 0, 2, 0, 0), (10, 1, 2, 0, 0), (11, 0, 3, 0, 0), (11, 1, 3, 0, 0), (11, 2, 3, 0, 0),
                (5, 3, 4, 0, 0), (7, 0, 1, 0, 0), (13, 1, 4, 0, 0), (9, 0, 2, 0, 7), (9, 1, 2, 0, 7),
                (12, 2, 5, 0, 3)]
SHARD_LATER = [(10, 0, 2, 1, 0), (10, 1, 2, 3, 0), (11, 2, 3, 2, 0), (7, 0, 1, 5, 0), (9, 1, 2, 4, 7),
               (13, 3, 4, 1, 0)]


# ---- what the probes return ----

@dataclass
class ShardCase:
    """One call of shard: what it returned (read without trusting it), or the error it raised."""
    case: list[int]  # n, rank, world_size, epoch, seed
    type: str | None  # the returned type's name; None when it raised
    ints: bool  # a list of Python ints
    item_types: list[str]  # the type names of a list's or tuple's items (at most 3)
    indices: list[int] | None  # the values, when they read as a sequence of ints
    error: str | None


@dataclass
class StepSeen:
    """What a rank's optimizer step pre-hook saw: the Linear's weights and gradients."""
    weight: Tensor
    bias: Tensor
    weight_grad: Tensor | None
    bias_grad: Tensor | None
    forwards: int  # the forwards of the Linear before this step
    optimizer: str  # its type's name


@dataclass
class RankRecord:
    """What a rank's spies recorded while train_ddp ran."""
    rank: int
    error: str | None  # what train_ddp raised
    initialized_after: bool  # the process group was still initialized once train_ddp ended
    saves: list[str]  # where torch.save wrote (a path, else the file object's type name)
    steps: list[StepSeen]
    forwards: list[list[int]]  # the rows of X in each input reaching the Linear (-1: not a row of X)


@dataclass
class RankRun:
    """One forked rank: whether it was killed for hanging, its record, its exit status."""
    rank: int
    timed_out: bool
    record: RankRecord | None  # None when it left no status file
    exit: int | None  # None when it timed out


@dataclass
class DdpRun:
    ranks: list[RankRun]
    out_path: str
    exists: bool  # a file exists at out_path
    saved: dict[str, Tensor] | None  # its tensors, when it loads as a dict
    load_error: str | None
    seconds: float  # how long the ranks were given


# ---- data (also used by the trusted side) ----

def ddp_data():
    g = torch.Generator().manual_seed(17)
    X = torch.randn(N, D, generator=g)
    y = X @ torch.tensor([[1.5], [-2.0], [0.5]]) + 0.3 + 0.5 * torch.randn(N, 1, generator=g)
    return X, y


# ---- shard ----

def _plain_indices(value):
    """(type name, list of ints or None): what shard returned, read without trusting it."""
    kind = type(value).__name__
    if isinstance(value, torch.Tensor):
        ok = value.dim() == 1 and not value.is_floating_point() and not value.is_meta
        return kind, [int(v) for v in value.tolist()] if ok else None
    if isinstance(value, (str, bytes, dict)):
        return kind, None
    try:
        items = list(value)
    except TypeError:
        return kind, None
    out = []
    for v in items[:10000]:
        if isinstance(v, bool):
            return kind, None
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            return kind, None
    return kind, out


def shard_cases(mod) -> list[ShardCase]:
    """shard on every case: the returned type, whether every item is a Python int, and the values."""
    out = []
    for n, rank, world_size, epoch, seed in SHARD_EPOCH0 + SHARD_LATER:
        try:
            value = mod.shard(n, rank, world_size, epoch, seed=seed)
        except Exception as exc:
            out.append(ShardCase(case=[n, rank, world_size, epoch, seed], type=None, ints=False, item_types=[],
                                 indices=None, error=describe_exception(exc, os.path.abspath(mod.__file__))))
            continue
        ints = isinstance(value, list) and all(type(v) is int for v in value)
        item_types = sorted({type(v).__name__ for v in value}) if isinstance(value, (list, tuple)) else []
        kind, indices = _plain_indices(value)
        out.append(ShardCase(case=[n, rank, world_size, epoch, seed], type=kind, ints=ints,
                             item_types=item_types[:3], indices=indices, error=None))
    return out


# ---- train_ddp ----

def _row_indices(x, X):
    """Which rows of X the batch x holds (-1 for a row that is not one of X's)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != X.shape[1] or x.is_meta:
        return [-1]
    match = (x.detach().to("cpu", torch.float32)[:, None, :] == X[None]).all(-1)
    return [int(m.nonzero()[0]) if m.any() else -1 for m in match]


KEPT = []


def _keep_objects_alive(mod):
    """Keep what the submission's functions held when they return, until the rank's os._exit.

    Freeing a DDP model after its process group was destroyed (the usual order: destroy at
    the end of train_ddp, the model freed on return) now and then hangs inside torch, so no
    object of the submission is ever freed in a rank: a correct submission never hangs here.
    """
    path = os.path.abspath(mod.__file__)

    def profile(frame, event, arg):
        if event == "return" and os.path.abspath(frame.f_code.co_filename) == path:
            KEPT.append(dict(frame.f_locals))

    gc.disable()
    sys.setprofile(profile)


def _rank(mod, rank, init_file, X, y, out_path, status_path):
    """A forked rank: run train_ddp under the spies, write the record, exit."""
    record = {"rank": rank, "error": None, "initialized_after": None, "saves": [], "steps": [],
              "forwards": []}
    real_save = torch.save
    seen = {}
    try:
        torch.set_num_threads(1)
        os.environ["GLOO_SOCKET_IFNAME"] = "lo"

        def forward_hook(module, args):
            if isinstance(module, nn.Linear) and args:
                seen["linear"] = module
                record["forwards"].append(_row_indices(args[0], X))

        def step_hook(optimizer, args, kwargs):
            lin = seen.get("linear")
            if lin is None or len(record["steps"]) >= 50:
                return
            grad = lambda p: None if p.grad is None else p.grad.detach().clone()  # noqa: E731
            record["steps"].append({"weight": lin.weight.detach().clone(), "bias": lin.bias.detach().clone(),
                                    "weight_grad": grad(lin.weight), "bias_grad": grad(lin.bias),
                                    "forwards": len(record["forwards"]), "optimizer": type(optimizer).__name__})

        def spy_save(obj, f, *args, **kwargs):
            where = os.path.abspath(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else type(f).__name__
            if len(record["saves"]) < MAX_SAVES:
                record["saves"].append(where)
            return real_save(obj, f, *args, **kwargs)

        register_module_forward_pre_hook(forward_hook)
        register_optimizer_step_pre_hook(step_hook)
        torch.save = torch.serialization.save = spy_save
        _keep_objects_alive(mod)
        try:
            mod.train_ddp(rank, WORLD, init_file, X.clone(), y.clone(), EPOCHS, LR, out_path)
        finally:
            sys.setprofile(None)
    except BaseException as exc:
        record["error"] = describe_exception(exc, os.path.abspath(mod.__file__))
    finally:
        try:
            record["initialized_after"] = bool(dist.is_initialized())
            real_save(record, status_path)
        finally:
            os._exit(0)


def _rank_record(rec) -> RankRecord:
    """A rank's record (a dict, as torch.save wrote it) as the typed result."""
    return RankRecord(rank=rec["rank"], error=rec["error"], initialized_after=rec["initialized_after"],
                      saves=rec["saves"], steps=[StepSeen(**step) for step in rec["steps"]],
                      forwards=rec["forwards"])


def ddp_run(mod) -> DdpRun:
    """WORLD forked ranks of train_ddp; each rank's record, exit status, and the file at out_path."""
    X, y = ddp_data()
    folder = os.path.abspath(FOLDER)
    os.makedirs(folder)
    init_file = os.path.join(folder, "rendezvous")  # must not exist yet (file:// rendezvous)
    out_path = os.path.join(folder, "model.pt")
    status = [os.path.join(folder, f"status{r}.pt") for r in range(WORLD)]
    pids = []
    for rank in range(WORLD):
        pid = os.fork()
        if pid == 0:
            _rank(mod, rank, init_file, X, y, out_path, status[rank])
        pids.append(pid)
    start = time.monotonic()
    exits = {}
    while len(exits) < WORLD and time.monotonic() - start < RANK_SECONDS:
        for rank, pid in enumerate(pids):
            if rank not in exits:
                done, code = os.waitpid(pid, os.WNOHANG)
                if done:
                    exits[rank] = code
        time.sleep(0.005)
    ranks = []
    for rank, pid in enumerate(pids):
        timed_out = rank not in exits
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        rec = None
        if not timed_out and os.path.isfile(status[rank]):
            try:
                rec = torch.load(status[rank], weights_only=True)
            except Exception:
                rec = None
        ranks.append(RankRun(rank=rank, timed_out=timed_out, record=None if rec is None else _rank_record(rec),
                             exit=None if timed_out else int(os.waitstatus_to_exitcode(exits[rank]))))
    saved, load_error = None, None
    if os.path.isfile(out_path):
        try:
            loaded = torch.load(out_path, weights_only=True)
            if isinstance(loaded, dict):
                saved = {str(k): v.detach().clone() for k, v in loaded.items() if isinstance(v, torch.Tensor)}
            else:
                load_error = f"it holds a {type(loaded).__name__}, not a state_dict"
        except Exception as exc:
            load_error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return DdpRun(ranks=ranks, out_path=out_path, exists=os.path.isfile(out_path), saved=saved,
                  load_error=load_error, seconds=RANK_SECONDS)
