"""Probes for exercise15 (run in the worker on the submission; return plain data).

The AutoEncoder's architecture is the student's choice, so its probes only report shapes,
parameter shapes, whether forward equals decode(encode(x)), which parameters a backward
pass reaches, and how training with a fixed loop goes. `corrupt` is driven on a large
input with fresh generators, reporting its output and what happened to x, to the
generator and to torch's global RNG. `denoising_step` is handed the grader's own spy: an
AutoEncoder-shaped module with known weights that records the input it receives, and an
SGD subclass that records the parameters and their .grad at each step(). The data
builders and `spy_reconstruct` are also imported by the trusted checks, which recompute
the true loss and gradients from the recorded input.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grader.suites.worker_side import (Described, DeviceRun, Number, RecordingSGD, StepRecord, attempt, describe, number,
                                       run_on, warm_meta_values, warm_optimizers)
from grader.suites.worker_side import cuda_available  # noqa: F401  (a probe)

CONFIGS = ((7, 13, 3), (6, 10, 4))   # (in_dim, hidden_dim, latent_dim): all three differ
SIZES = (1, 4, 9)                    # batch sizes for the shape checks
CORRUPT_STD = {"a": (0.5, 1), "a_again": (0.5, 1), "b": (0.5, 2), "wide": (2.0, 3), "zero": (0.0, 4)}
SPY_IN, SPY_HIDDEN, SPY_LATENT = 8, 6, 3
NOISE_STD = 0.4                      # denoising_step: not 1, so ignoring, squaring or sqrt-ing it shows
DENOISE_SEED = 21
CALLS = 3
LR = 0.1
LEARN_DIMS = (8, 16, 3)
LEARN_STEPS = 200


def warm():
    """Called once in the zygote."""
    warm_optimizers()
    warm_meta_values()


# ---- data (also used by the trusted side) ----

def corrupt_input():
    """20000 values, mean 3 (so forgetting to add x shows), float32."""
    g = torch.Generator().manual_seed(150)
    return 3.0 + torch.randn(200, 100, generator=g)


def denoise_batch():
    """The clean batch denoising_step is given: (64, SPY_IN), mean about 1."""
    g = torch.Generator().manual_seed(151)
    return 1.0 + torch.randn(64, SPY_IN, generator=g)


def learn_data():
    """128 points on a 2-D plane inside 8-D space, plus a little noise."""
    g = torch.Generator().manual_seed(152)
    z = torch.randn(128, 2, generator=g)
    A = torch.randn(2, LEARN_DIMS[0], generator=g)
    return z @ A + 0.05 * torch.randn(128, LEARN_DIMS[0], generator=g)


def spy_initial_params():
    g = torch.Generator().manual_seed(153)
    shapes = [(SPY_HIDDEN, SPY_IN), (SPY_HIDDEN,), (SPY_LATENT, SPY_HIDDEN), (SPY_LATENT,),
              (SPY_HIDDEN, SPY_LATENT), (SPY_HIDDEN,), (SPY_IN, SPY_HIDDEN), (SPY_IN,)]
    return [0.5 * torch.randn(s, generator=g) for s in shapes]


def spy_encode(params, x):
    w1, b1, w2, b2 = params[:4]
    return torch.tanh(x @ w1.T + b1) @ w2.T + b2


def spy_decode(params, z):
    w3, b3, w4, b4 = params[4:]
    return torch.tanh(z @ w3.T + b3) @ w4.T + b4


def spy_reconstruct(params, x):
    return spy_decode(params, spy_encode(params, x))


# ---- what the probes return ----

@dataclass
class Call:
    """One call of the student's code: the error it raised (as one line), else what it returned."""
    error: str | None
    value: Described | None  # None when it raised


@dataclass
class ShapeCall:
    """encode, decode and forward on a batch of n."""
    n: int
    encode: Call
    decode: Call
    forward: Call


@dataclass
class ShapeConfig:
    dims: list[int]  # (in_dim, hidden_dim, latent_dim)
    is_module: bool
    calls: list[ShapeCall]  # empty unless is_module


@dataclass
class Shapes:
    configs: list[ShapeConfig]
    type: str  # what AutoEncoder(...) built (the last configuration's)


@dataclass
class Structure:
    dims: list[int]  # (in_dim, hidden_dim, latent_dim)
    shapes: list[list[int]]  # of the parameters


@dataclass
class Consistency:
    forward: Call  # forward(x)
    composed: Call  # decode(encode(x))


@dataclass
class ParamGrad:
    """A parameter's .grad after the backward pass."""
    name: str
    none: bool  # .grad is None
    finite: bool
    nonzero: bool


@dataclass
class Gradients:
    has_graph: bool  # forward(x) carried a graph (backward ran only then)
    params: list[ParamGrad]


@dataclass
class Learning:
    losses: list[float]  # per step
    final: float  # in eval mode, after training
    variance: float  # the data's, per feature, averaged


@dataclass
class CorruptCase:
    shape: list[int]  # x's
    dtype: str  # x's
    result: Described


@dataclass
class CorruptCall:
    result: Described
    x_kept: bool  # x unchanged
    generator_advanced: bool  # the generator's state changed
    global_untouched: bool  # torch's global RNG state unchanged


@dataclass
class DenoiseCall:
    """One denoising_step call on the spy."""
    result: Number
    x_after: Tensor  # x as it was after the call
    inputs: list[Tensor]  # what reached the spy's encode
    steps: list[StepRecord]
    params_before: list[Tensor]
    params_after: list[Tensor]
    generator_advanced: bool


@dataclass
class Replays:
    """The inputs a fresh spy received in one denoising_step with a generator of the same seed / another seed."""
    same: list[Tensor]
    other: list[Tensor]


@dataclass
class DenoiseTrace:
    calls: list[DenoiseCall]
    global_untouched: bool  # torch's global RNG state unchanged over the calls
    replays: Replays


# ---- spies ----

class SpyAutoEncoder(nn.Module):
    """An AutoEncoder-shaped module with known weights; records every input that reaches encode
    (forward goes through encode). Draws nothing from any random generator."""

    def __init__(self):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(p) for p in spy_initial_params()])
        self.inputs = []

    def encode(self, x):
        self.inputs.append(x.detach().clone())
        return spy_encode(list(self.weights), x)

    def decode(self, z):
        return spy_decode(list(self.weights), z)

    def forward(self, x):
        return self.decode(self.encode(x))


# ---- helpers ----

def _error(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0].rstrip('.')}" if text else type(exc).__name__


def _call(fn) -> Call:
    """Run one call of the student's code; an error (other than an unfinished stub's) is data."""
    try:
        return Call(error=None, value=describe(fn()))
    except NotImplementedError:
        raise
    except Exception as exc:
        return Call(error=_error(exc), value=None)


def _build(mod, dims):
    torch.manual_seed(0)
    return mod.AutoEncoder(*dims)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


# ---- AutoEncoder probes ----

def ae_shapes(mod) -> Shapes:
    """encode, decode and forward on batches of 1, 4 and 9, for two (in, hidden, latent) configurations."""
    configs = []
    for dims in CONFIGS:
        in_dim, _, latent = dims
        model = _build(mod, dims)
        info = ShapeConfig(dims=list(dims), is_module=isinstance(model, nn.Module), calls=[])
        configs.append(info)
        if not info.is_module:
            continue
        g = torch.Generator().manual_seed(1)
        for n in SIZES:
            x = torch.randn(n, in_dim, generator=g)
            z = torch.randn(n, latent, generator=g)
            info.calls.append(ShapeCall(n=n, encode=_call(lambda: model.encode(x)),
                                        decode=_call(lambda: model.decode(z)),
                                        forward=_call(lambda: model(x))))
    return Shapes(configs=configs, type=type(model).__name__)


def ae_structure(mod) -> list[Structure]:
    """The shapes of the parameters, for two configurations."""
    out = []
    for dims in CONFIGS:
        model = _build(mod, dims)
        params = list(model.parameters()) if isinstance(model, nn.Module) else []
        out.append(Structure(dims=list(dims), shapes=[list(p.shape) for p in params]))
    return out


def ae_consistency(mod) -> Consistency:
    """forward(x) and decode(encode(x)) on the same module (eval mode, no graph)."""
    model = _build(mod, CONFIGS[0])
    x = torch.randn(5, CONFIGS[0][0], generator=torch.Generator().manual_seed(2))
    model.eval()
    with torch.no_grad():
        forward = _call(lambda: model(x))
        composed = _call(lambda: model.decode(model.encode(x)))
    return Consistency(forward=forward, composed=composed)


def ae_gradients(mod) -> Gradients:
    """Which parameters a backward pass of mean((forward(x) - x)**2) reaches."""
    model = _build(mod, CONFIGS[0])
    x = torch.randn(16, CONFIGS[0][0], generator=torch.Generator().manual_seed(3))
    model.train()
    out = model(x)
    info = Gradients(has_graph=isinstance(out, torch.Tensor) and out.grad_fn is not None, params=[])
    if info.has_graph:
        F.mse_loss(out, x).backward()
    for name, p in model.named_parameters():
        g = p.grad
        info.params.append(ParamGrad(name=name, none=g is None,
                                     finite=g is None or bool(torch.isfinite(g).all()),
                                     nonzero=g is not None and bool(g.abs().sum() > 0)))
    return info


def ae_learn(mod) -> Learning:
    """LEARN_STEPS full-batch Adam steps on mean((forward(X) - X)**2), the grader's own loop."""
    X = learn_data()
    model = _build(mod, LEARN_DIMS)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(LEARN_STEPS):
        loss = F.mse_loss(model(X), X)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        final = F.mse_loss(model(X), X).item()
    return Learning(losses=losses, final=final, variance=X.var(0, unbiased=False).mean().item())


# ---- corrupt probes ----

def corrupt_shapes(mod) -> list[CorruptCase]:
    """corrupt on inputs of several shapes and dtypes."""
    g = torch.Generator().manual_seed(5)
    cases = [((3, 4), torch.float32), ((2, 3, 5), torch.float32), ((1, 7), torch.float32),
             ((4, 3), torch.float64)]
    out = []
    for i, (shape, dtype) in enumerate(cases):
        x = torch.randn(shape, generator=g, dtype=dtype)
        result = mod.corrupt(x, 0.5, torch.Generator().manual_seed(10 + i))
        out.append(CorruptCase(shape=list(shape), dtype=str(dtype), result=describe(result)))
    return out


def corrupt_calls(mod) -> dict[str, CorruptCall]:
    """corrupt(x, std, fresh generator) for each case of CORRUPT_STD, on a fresh copy of x each time."""
    base = corrupt_input()
    out = {}
    for name, (std, seed) in CORRUPT_STD.items():
        x = base.clone()
        g = torch.Generator().manual_seed(seed)
        gen_before, rng_before = g.get_state(), torch.random.get_rng_state()
        result = mod.corrupt(x, std, g)
        out[name] = CorruptCall(result=describe(result), x_kept=torch.equal(x, base),
                                generator_advanced=not torch.equal(gen_before, g.get_state()),
                                global_untouched=torch.equal(rng_before, torch.random.get_rng_state()))
    return out


# ---- denoising_step probe ----

def denoising_trace(mod) -> DenoiseTrace:
    """CALLS denoising_steps in a row on the spy, then one on a fresh spy with the same seed and one
    with another seed (the inputs they received)."""
    x = denoise_batch()
    model = SpyAutoEncoder()
    optimizer = RecordingSGD(model.parameters(), lr=LR)
    g = torch.Generator().manual_seed(DENOISE_SEED)
    rng_before = torch.random.get_rng_state()
    calls = []
    for _ in range(CALLS):
        x_in = x.clone()
        before, gen_before = _params(model), g.get_state()
        start_in, start_step = len(model.inputs), len(optimizer.records)
        result = mod.denoising_step(model, x_in, optimizer, NOISE_STD, g)
        calls.append(DenoiseCall(result=number(result), x_after=x_in.detach().clone(),
                                 inputs=model.inputs[start_in:], steps=optimizer.records[start_step:],
                                 params_before=before, params_after=_params(model),
                                 generator_advanced=not torch.equal(gen_before, g.get_state())))
    global_untouched = torch.equal(rng_before, torch.random.get_rng_state())
    replays = {}
    for name, seed in (("same", DENOISE_SEED), ("other", DENOISE_SEED + 1)):
        spy = SpyAutoEncoder()
        mod.denoising_step(spy, x.clone(), torch.optim.SGD(spy.parameters(), lr=LR), NOISE_STD,
                           torch.Generator().manual_seed(seed))
        replays[name] = spy.inputs[:1]
    return DenoiseTrace(calls=calls, global_untouched=global_untouched, replays=Replays(**replays))


# ---- devices ----

def device_runs(mod, device) -> dict[str, DeviceRun]:
    """The AutoEncoder moved to `device` (encode, decode, forward and backward), corrupt and
    denoising_step (on the spy), all with inputs and a generator there (a cpu generator on meta,
    which draws nothing); an error is data (on meta, values read are ones)."""
    def generator(seed):
        return (torch.Generator(device=device) if device != "meta" else torch.Generator()).manual_seed(seed)

    in_dim, _, latent = CONFIGS[0]
    x = torch.randn(5, in_dim, generator=torch.Generator().manual_seed(6)).to(device)
    z = torch.randn(5, latent, generator=torch.Generator().manual_seed(7)).to(device)
    runs = {}
    model = _build(mod, CONFIGS[0]).to(device)

    def autoencoder():
        outs = [model.encode(x), model.decode(z), model(x)]
        F.mse_loss(outs[-1], x).backward()
        return outs[-1]

    runs["autoencoder"] = run_on(autoencoder, device)
    runs["corrupt"] = run_on(lambda: mod.corrupt(x, 0.5, generator(1)), device)
    spy = SpyAutoEncoder().to(device)
    batch = denoise_batch().to(device)
    optimizer = torch.optim.SGD(spy.parameters(), lr=LR)
    _, error = attempt(lambda: mod.denoising_step(spy, batch, optimizer, NOISE_STD, generator(2)), device)
    runs["denoising_step"] = DeviceRun(error=error, device=str(spy.inputs[0].device) if spy.inputs else None)
    return runs
