"""Probes for exercise11 (run in the worker on the submission; return plain data).

Every probe trains the same small model (Linear, BatchNorm1d, ReLU, Linear) with Adam
(and a StepLR scheduler) on fixed, seeded data, in the worker's private working
directory. The trajectory probes run the uninterrupted training themselves, with the
grader's own code, so the trusted side compares the submission's resumed run with it.
Files the submission writes come back as bytes, to be loaded on the trusted side with
`load_untrusted` only. Failures while saving are injected by patching torch.save and
the file-opening functions, here in the worker.
"""

import builtins
import errno
import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)
from grader.suites.worker_side import Described, describe
from grader.suites.worker_side import warm_optimizers as warm  # noqa: F401  (called by the zygote)
from grader.worker.child import describe_exception

FOLDER = "run"
SYSTEM_TEMP = "system-temp"  # what tempfile gives without dir= while save_file runs
NAME = "checkpoint.pt"
PATH = os.path.join(FOLDER, NAME)
MAX_FILE_BYTES = 1 << 20
LR, STEP_SIZE, GAMMA = 0.05, 2, 0.5
EPOCHS, SAVED_AT = 6, 2     # the checkpoint is saved after epoch 2; the resumed run does epochs 3..5
BATCH = 8
WRITE_BUDGET = 512          # bytes a failing write lets through before "the disk is full"


# ---- the grader's own training ----

def make_run(seed, with_scheduler=True, device="cpu"):
    """A fresh (model, Adam, StepLR or None); different seeds give different initial weights."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, STEP_SIZE, GAMMA) if with_scheduler else None
    return model, optimizer, scheduler


def data():
    g = torch.Generator().manual_seed(11)
    return torch.randn(32, 4, generator=g), torch.randint(0, 3, (32,), generator=g)


def train_epoch(model, optimizer, scheduler):
    """One epoch of 4 mini-batches; returns the learning rate it used."""
    X, y = data()
    model.train()
    lr = optimizer.param_groups[0]["lr"]
    for i in range(0, len(X), BATCH):
        optimizer.zero_grad()
        F.cross_entropy(model(X[i:i + BATCH]), y[i:i + BATCH]).backward()
        optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return lr


def trained_run(epochs=SAVED_AT + 1, with_scheduler=True):
    run = make_run(0, with_scheduler)
    for _ in range(epochs):
        train_epoch(*run)
    return run


# ---- what the probes return ----

@dataclass
class OptimizerState:
    """Adam's state (`optimizer_state`)."""
    n_state: int  # how many parameters have a state
    per_param: list[dict[str, Tensor] | None]  # in the model's parameter order: step, exp_avg, exp_avg_sq
    lrs: list[float]  # per param group


@dataclass
class SavedFile:
    """One save_checkpoint: the file at path, what else was written, the states saved, the moves."""
    exists: bool
    size: int
    file: Tensor | None  # its bytes (uint8); None when missing or too large
    folder: list[str]  # the files in the checkpoint's folder
    elsewhere: list[str]  # files written outside it (in the working or the system temporary folder)
    model: dict[str, Tensor]  # the model's state_dict
    optimizer: OptimizerState
    path: str  # absolute
    moves: list[tuple[str, str]]  # every rename or replace: (source, destination), absolute


@dataclass
class RoundTrip:
    """load_checkpoint(path, model) alone, into a fresh model."""
    error: str | None
    saved: dict[str, Tensor]
    initial: dict[str, Tensor]  # the fresh model's own
    loaded: dict[str, Tensor]
    want_out: Tensor
    got_out: Tensor


@dataclass
class EpochCall:
    saved: int  # the epoch given to save_checkpoint
    got: Described  # what load_checkpoint returned


@dataclass
class Trajectory:
    params: list[dict[str, Tensor]]  # the model's state after each epoch
    lrs: list[float]  # the learning rate each epoch used


@dataclass
class ResumeTrace:
    """The uninterrupted run, and the run stopped after SAVED_AT, saved, loaded and finished."""
    straight: Trajectory
    opt_at_save: OptimizerState  # the uninterrupted run's, at the moment of saving
    sched_at_save: int | None  # its scheduler's last_epoch then (None without a scheduler)
    error: str | None
    stage: str | None  # "save" or "load": where the error was raised
    saved_model: dict[str, Tensor]
    loaded_model: dict[str, Tensor] | None = None  # None when saving or loading failed (as the fields below)
    loaded_opt: OptimizerState | None = None
    loaded_sched: int | None = None
    resumed: Trajectory | None = None  # epochs SAVED_AT + 1 .. EPOCHS - 1


@dataclass
class LoadAttempt:
    error: str | None
    devices: list[str]  # of the model's state after loading
    loaded: dict[str, Tensor]  # the model's state (entries on meta left out)


@dataclass
class ForeignLoad:
    """A checkpoint tagged as saved on another device, loaded with map_location='cpu' and the default."""
    saved: dict[str, Tensor]
    explicit: LoadAttempt
    default: LoadAttempt


@dataclass
class LoadOnto:
    """A cpu checkpoint loaded into a model on a device with map_location=device."""
    error: str | None
    calls: int  # of torch.load
    devices: list[str]  # of the tensors torch.load handed back
    model_devices: list[str]
    saved: dict[str, Tensor]
    loaded: dict[str, Tensor] | None  # None on meta or after an error


@dataclass
class AtomicScenario:
    """One failing save (`SCENARIOS`) and the file at path around it (bytes, uint8; None when missing)."""
    how: str  # "torch_save" or "file_write"
    older: bool  # whether an older checkpoint was there first
    old: Tensor | None  # that older checkpoint
    error: str | None  # what the failing save raised
    triggered: int  # how many times the injected failure was reached
    after_exists: bool  # whether a file was at path after the failing save
    after: Tensor | None
    final: Tensor | None  # after the next, working save
    folder: list[str]


# ---- plain data ----

def model_state(model):
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}


def optimizer_state(model, optimizer) -> OptimizerState:
    """Adam's per-parameter state in the model's parameter order (None where it has none)."""
    per_param = []
    for p in model.parameters():
        s = optimizer.state.get(p)
        if not s:
            per_param.append(None)
            continue
        per_param.append({k: (v.detach().to("cpu").clone().reshape(-1).float() if isinstance(v, torch.Tensor)
                              else torch.tensor([float(v)])) for k, v in s.items()
                          if k in ("step", "exp_avg", "exp_avg_sq")})
    return OptimizerState(n_state=sum(s is not None for s in per_param), per_param=per_param,
                          lrs=[float(g["lr"]) for g in optimizer.param_groups])


def scheduler_epoch(scheduler):
    return None if scheduler is None else int(scheduler.last_epoch)


def file_bytes(path):
    """The file at path as a uint8 tensor, or None when it is missing or too large."""
    if not os.path.isfile(path) or os.path.getsize(path) > MAX_FILE_BYTES:
        return None
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    return torch.frombuffer(raw, dtype=torch.uint8).clone() if raw else torch.zeros(0, dtype=torch.uint8)


def listing(folder="."):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def attempt(mod, fn, *args, **kwargs):
    """(result, None) or (None, a one-line description of what the submission raised)."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:
        return None, describe_exception(exc, os.path.abspath(mod.__file__))


class _Moves:
    """Within: every rename or replace (os.rename, os.replace, and so shutil.move and pathlib's)
    is recorded as [source, destination], absolute; tempfile's default folder is SYSTEM_TEMP."""

    def __init__(self, mod):
        self.moves, self.mod = [], getattr(mod, "_module", mod)
        self.real = {"rename": os.rename, "replace": os.replace}
        self.saved = []

    def _spy(self, real):
        def move(src, dst, *args, **kwargs):
            self.moves.append([os.path.abspath(os.fsdecode(src)), os.path.abspath(os.fsdecode(dst))])
            return real(src, dst, *args, **kwargs)
        return move

    def __enter__(self):
        os.makedirs(SYSTEM_TEMP, exist_ok=True)
        self.saved.append((tempfile, "tempdir", tempfile.tempdir))
        tempfile.tempdir = os.path.abspath(SYSTEM_TEMP)
        namespace = vars(self.mod) if hasattr(self.mod, "__dict__") else {}
        for name, real in self.real.items():
            spy = self._spy(real)
            self.saved.append((os, name, real))
            setattr(os, name, spy)
            for key, value in list(namespace.items()):  # from os import replace
                if value is real:
                    self.saved.append((self.mod, key, value))
                    setattr(self.mod, key, spy)
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)


# ---- probes ----

def save_file(mod) -> SavedFile:
    """save_checkpoint once; the file's bytes, what else was written, the states saved, and the files
    moved (from where to where)."""
    before = listing()
    model, optimizer, scheduler = trained_run()
    os.makedirs(FOLDER, exist_ok=True)
    with _Moves(mod) as moves:
        mod.save_checkpoint(PATH, model, optimizer, SAVED_AT, scheduler=scheduler)
    return SavedFile(exists=os.path.isfile(PATH), size=os.path.getsize(PATH) if os.path.isfile(PATH) else 0,
                     file=file_bytes(PATH), folder=listing(FOLDER),
                     elsewhere=[n for n in listing() if n not in before and n not in (FOLDER, SYSTEM_TEMP)]
                     + [os.path.join(SYSTEM_TEMP, n) for n in listing(SYSTEM_TEMP)],
                     model=model_state(model), optimizer=optimizer_state(model, optimizer),
                     path=os.path.abspath(PATH), moves=[(src, dst) for src, dst in moves.moves])


def round_trip(mod) -> RoundTrip:
    """Save a trained run; load it into a fresh model alone (optimizer and scheduler left out)."""
    model, optimizer, scheduler = trained_run()
    os.makedirs(FOLDER, exist_ok=True)
    mod.save_checkpoint(PATH, model, optimizer, 5, scheduler=scheduler)
    fresh, _, _ = make_run(99)
    initial = model_state(fresh)
    _, error = attempt(mod, mod.load_checkpoint, PATH, fresh)
    X, _ = data()
    model.eval()
    fresh.eval()
    with torch.no_grad():
        want, got = model(X), fresh(X)
    return RoundTrip(error=error, saved=model_state(model), initial=initial, loaded=model_state(fresh),
                     want_out=want, got_out=got)


def epochs(mod) -> list[EpochCall]:
    """What load_checkpoint returns for checkpoints saved with epoch 0 and epoch 7."""
    out = []
    os.makedirs(FOLDER, exist_ok=True)
    for epoch in (7, 0):
        model, optimizer, scheduler = trained_run()
        mod.save_checkpoint(PATH, model, optimizer, epoch, scheduler=scheduler)
        model, optimizer, scheduler = make_run(99)
        result = mod.load_checkpoint(PATH, model, optimizer, scheduler=scheduler)
        out.append(EpochCall(saved=epoch, got=describe(result)))
    return out


def resume(mod, with_scheduler) -> ResumeTrace:
    """Train EPOCHS epochs straight; and again, stopping after SAVED_AT to save, load into fresh
    objects and finish. Parameters after every epoch, learning rates, states at the hand-over."""
    straight = trained_run(0, with_scheduler)
    params, lrs, opt_at_save, sched_at_save = [], [], None, None
    for epoch in range(EPOCHS):
        lrs.append(train_epoch(*straight))
        params.append(model_state(straight[0]))
        if epoch == SAVED_AT:
            opt_at_save = optimizer_state(straight[0], straight[1])
            sched_at_save = scheduler_epoch(straight[2])

    model, optimizer, scheduler = trained_run(SAVED_AT + 1, with_scheduler)
    out = ResumeTrace(straight=Trajectory(params=params, lrs=lrs), opt_at_save=opt_at_save,
                      sched_at_save=sched_at_save, error=None, stage=None, saved_model=model_state(model))
    os.makedirs(FOLDER, exist_ok=True)
    if with_scheduler:
        _, error = attempt(mod, mod.save_checkpoint, PATH, model, optimizer, SAVED_AT, scheduler=scheduler)
    else:
        _, error = attempt(mod, mod.save_checkpoint, PATH, model, optimizer, SAVED_AT)
    if error:
        out.error, out.stage = error, "save"
        return out
    del model, optimizer, scheduler

    model, optimizer, scheduler = make_run(99, with_scheduler)
    if with_scheduler:
        _, error = attempt(mod, mod.load_checkpoint, PATH, model, optimizer, scheduler=scheduler)
    else:
        _, error = attempt(mod, mod.load_checkpoint, PATH, model, optimizer)
    if error:
        out.error, out.stage = error, "load"
        return out
    out.loaded_model = model_state(model)
    out.loaded_opt = optimizer_state(model, optimizer)
    out.loaded_sched = scheduler_epoch(scheduler)
    params, lrs = [], []
    for _ in range(SAVED_AT + 1, EPOCHS):
        lrs.append(train_epoch(model, optimizer, scheduler))
        params.append(model_state(model))
    out.resumed = Trajectory(params=params, lrs=lrs)
    return out


def foreign_device(mod) -> ForeignLoad:
    """A checkpoint whose tensors are tagged as saved on another device ('meta', as a GPU's would be
    tagged 'cuda:0') is loaded on cpu, with map_location='cpu' and with the default."""
    model, optimizer, scheduler = trained_run()
    os.makedirs(FOLDER, exist_ok=True)
    real_tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "meta"
    try:
        mod.save_checkpoint(PATH, model, optimizer, SAVED_AT, scheduler=scheduler)
    finally:
        torch.serialization.location_tag = real_tag
    saved, attempts = model_state(model), {}
    for how in ("explicit", "default"):
        fresh, opt, sched = make_run(99)
        kwargs = {"map_location": "cpu"} if how == "explicit" else {}
        _, error = attempt(mod, mod.load_checkpoint, PATH, fresh, opt, scheduler=sched, **kwargs)
        state = fresh.state_dict()
        attempts[how] = LoadAttempt(error=error, devices=sorted({str(v.device) for v in state.values()}),
                                    loaded={k: v.detach().clone() for k, v in state.items() if not v.is_meta})
    return ForeignLoad(saved=saved, **attempts)


def tensors_in(obj, depth: int = 0) -> list[Tensor]:
    """Every tensor inside `obj` (a loaded checkpoint, whatever its layout of mappings, lists
    and tuples); the trusted side reads checkpoints with it too."""
    if depth > 20:
        return []
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in tensors_in(v, depth + 1)]
    return []


def load_onto(mod, device) -> LoadOnto:
    """Load a cpu checkpoint into a model on `device` with map_location=device; the devices of the
    tensors torch.load handed back (spied on), and the model's values where readable."""
    model, optimizer, scheduler = trained_run()
    os.makedirs(FOLDER, exist_ok=True)
    mod.save_checkpoint(PATH, model, optimizer, SAVED_AT, scheduler=scheduler)
    fresh, opt, sched = make_run(99, device=device)
    seen, calls = [], []
    real_load = torch.load

    def spy(*args, **kwargs):
        result = real_load(*args, **kwargs)
        calls.append(1)
        seen.extend(str(t.device) for t in tensors_in(result))
        return result

    torch.load = torch.serialization.load = spy
    try:
        _, error = attempt(mod, mod.load_checkpoint, PATH, fresh, opt, scheduler=sched, map_location=device)
    finally:
        torch.load = torch.serialization.load = real_load
    if error and device == "meta" and calls and "meta" in error:
        error = None  # values cannot be read on meta (e.g. an epoch stored as a tensor); the devices tell
    return LoadOnto(error=error, calls=len(calls), devices=sorted(set(seen)),
                    model_devices=sorted({str(v.device) for v in fresh.state_dict().values()}),
                    saved=model_state(model), loaded=model_state(fresh) if device != "meta" and not error else None)


# ---- failing saves ----

class _DiskFull:
    """A file opened for writing that takes WRITE_BUDGET bytes, then fails like a full disk."""

    def __init__(self, f, budget):
        self._f, self._left, self.hits = f, budget, 0

    def write(self, data):
        data = memoryview(data).cast("B")
        if len(data) > self._left:
            self._f.write(data[:self._left])
            self._f.flush()
            self._left = 0
            raise OSError(errno.ENOSPC, "No space left on device (injected by the grader)")
        self._left -= len(data)
        return self._f.write(data)

    def fileno(self):  # no os.sendfile / os.write around the failing write
        raise io.UnsupportedOperation("fileno")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def __iter__(self):
        return iter(self._f)

    def __getattr__(self, name):
        return getattr(self._f, name)


class _Injection:
    """Patch torch.save ('torch_save': writes half of the bytes, then raises) or the opening of
    files for writing ('file_write': the disk fills up after WRITE_BUDGET bytes)."""

    def __init__(self, how):
        self.how, self.triggered = how, 0
        self.real_save, self.real_open = torch.save, io.open

    def _failing_save(self, obj, f, *args, **kwargs):
        buf = io.BytesIO()
        self.real_save(obj, buf, *args, **kwargs)
        half = buf.getvalue()[: len(buf.getvalue()) // 2]
        self.triggered += 1
        if isinstance(f, (str, bytes, os.PathLike)):
            with self.real_open(f, "wb") as target:
                target.write(half)
        else:
            f.write(half)
            if hasattr(f, "flush"):
                f.flush()
        raise OSError(errno.ENOSPC, "No space left on device (torch.save failed halfway, injected by the grader)")

    def _open(self, file, mode="r", *args, **kwargs):
        f = self.real_open(file, mode, *args, **kwargs)
        if any(c in mode for c in "wax+"):
            self.triggered += 1
            return _DiskFull(f, WRITE_BUDGET)
        return f

    def __enter__(self):
        if self.how == "torch_save":
            torch.save = torch.serialization.save = self._failing_save
        else:
            builtins.open = io.open = self._open
        return self

    def __exit__(self, *exc):
        torch.save = torch.serialization.save = self.real_save
        builtins.open = io.open = self.real_open


SCENARIOS = [("torch_save", True), ("file_write", True), ("torch_save", False)]


def atomic(mod) -> list[AtomicScenario]:
    """For each scenario, in its own folder: maybe an older checkpoint (epoch 1), then a save that
    fails halfway (epoch 2), then a save that works (epoch 3). The file at path after each."""
    out = []
    model, optimizer, scheduler = trained_run()
    for i, (how, older) in enumerate(SCENARIOS):
        folder = f"scenario{i}"
        os.makedirs(folder)
        path = os.path.join(folder, NAME)
        old = None
        if older:
            mod.save_checkpoint(path, model, optimizer, 1, scheduler=scheduler)
            old = file_bytes(path)
        train_epoch(model, optimizer, scheduler)
        with _Injection(how) as injection:
            _, error = attempt(mod, mod.save_checkpoint, path, model, optimizer, 2, scheduler=scheduler)
        after = file_bytes(path)
        after_exists = os.path.exists(path)
        mod.save_checkpoint(path, model, optimizer, 3, scheduler=scheduler)
        out.append(AtomicScenario(how=how, older=older, old=old, error=error, triggered=injection.triggered,
                                  after_exists=after_exists, after=after, final=file_bytes(path),
                                  folder=listing(folder)))
    return out
