"""Helpers shared by hidden suites, in two sections. In the worker (probes, beside the submission):
`describe`, `number`, `RecordingSGD`, `autograd_facts`, `attempt`, `run_on`, `meta_values`, the
`warm_*` functions and the `cuda_available` probe; in the grader (the trusted side, test_hidden.py):
the rest."""

import contextlib

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

from grader.worker.child import error_line


# ---------------------------------------------------------------- in the worker (probes)

def warm_optimizers():
    """For a probe module's `warm` (the zygote calls it once): the first step of a process's
    first optimizer imports torch._dynamo, 1-3 s that would otherwise be paid in every probe."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    p.grad = torch.ones(1)
    opt.step()
    opt.zero_grad()


def warm_meta_values():
    """For a probe module's `warm`: the first operation on the meta device (as `meta_values` runs
    them) imports torch._dynamo too, paid once with `warm_optimizers` where a suite calls both."""
    torch.ones(2, device="meta") * 2


def cuda_available(mod):
    """A probe: whether the worker sees CUDA (device checks then run there too)."""
    return torch.cuda.is_available()


def autograd_facts(out):
    """For a spy's forward, given what it computed: whether autograd recorded a graph for `out`,
    and the grad and inference modes in force."""
    return {"graph": isinstance(out, torch.Tensor) and out.grad_fn is not None,
            "grad_enabled": torch.is_grad_enabled(),
            "inference_mode": torch.is_inference_mode_enabled()}


def attempt(fn, device="cpu"):
    """Run `fn()` (on the meta device under `meta_values`): (its result, None) or (None, the error
    as one line). An unfinished stub's NotImplementedError("TODO ...") is raised."""
    try:
        with meta_values() if torch.device(device).type == "meta" else contextlib.nullcontext():
            return fn(), None
    except NotImplementedError as exc:
        if "TODO" in str(exc):  # an unfinished stub is not a finding
            raise
        return None, error_line(exc)
    except Exception as exc:
        return None, error_line(exc)


# what torch says where a value of a meta tensor was read (the trusted side reads it too)
VALUE_READS = ("cannot be called on meta", "copy out of meta", "meta device type tensor to numpy",
               "data-independent")


class _MetaValues(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if not any(marker in str(exc) for marker in VALUE_READS):
                raise
        self.reads += 1  # a value of a meta tensor was read: ones stand in for its values
        args, kwargs = tree_map(lambda t: torch.ones(t.shape, dtype=t.dtype)
                                if isinstance(t, torch.Tensor) and t.is_meta else t, (args, kwargs))
        return func(*args, **kwargs)


@contextlib.contextmanager
def meta_values():
    """Within: reading values of meta tensors (.item(), float(), bool(), .cpu(), .tolist(), copies
    into cpu tensors, boolean indexing) gives ones instead of raising, so code runs on meta to its
    end as on a GPU, and a tensor left on another device shows; yields the mode, whose `reads`
    counts those reads."""
    import torch.fx.experimental._config as fx_config

    with fx_config.patch(meta_nonzero_assume_all_nonzero=True), _MetaValues() as mode:
        yield mode


def run_on(fn, device):
    """A device check's run of `fn()` (see `attempt`): its error, and where its result (the first
    item of a pair) is."""
    out, error = attempt(fn, device)
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    return {"error": error, "device": str(out.device) if isinstance(out, torch.Tensor) else None}


def _recorded(t):
    return None if t is None else t.detach().clone() if t.is_meta else t.detach().to("cpu").clone()


class RecordingSGD(torch.optim.SGD):
    """A probe's SGD that records, at each step(), clones of every parameter and of its .grad
    (None kept) and, when `batch_of` is given, what it returns (e.g. the batch being trained)."""

    def __init__(self, params, lr, momentum=0.0, batch_of=None):
        super().__init__(params, lr=lr, momentum=momentum)
        self.records = []
        self.batch_of = batch_of

    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"]]
        self.records.append({"params": [_recorded(p) for p in params],
                             "grads": [_recorded(p.grad) for p in params],
                             "batch": self.batch_of() if self.batch_of else None})
        return super().step(closure)


def number(value):
    """What a function returned where a number is expected, as plain data."""
    if isinstance(value, bool):
        return {"type": "bool", "value": None}
    if isinstance(value, (int, float)):
        return {"type": "float" if isinstance(value, float) else "int", "value": float(value)}
    if isinstance(value, torch.Tensor):
        ok = value.numel() == 1 and not value.is_meta and value.is_floating_point()
        return {"type": "tensor", "requires_grad": bool(value.requires_grad),
                "value": float(value.detach().to("cpu").reshape(())) if ok else None}
    return {"type": type(value).__name__, "value": None}


def describe(value):
    """A plain description of what the submission returned, safe to send back.

    Tensors keep their values (detached, on cpu unless on meta) plus the autograd facts a
    check may need; anything else is reported by type.
    """
    if not isinstance(value, torch.Tensor):
        return {"is_tensor": False, "type": type(value).__name__,
                "value": value if type(value) in (int, float, bool) else None}
    plain = value.detach()
    info = {"is_tensor": True, "shape": list(value.shape), "dtype": str(value.dtype),
            "device": str(value.device), "requires_grad": bool(value.requires_grad),
            "has_graph": value.grad_fn is not None, "is_leaf": bool(value.is_leaf)}
    info["values"] = None if plain.is_meta else plain.to("cpu").clone().as_subclass(torch.Tensor)
    return info


# ---------------------------------------------------------------- trusted side (test_hidden.py)

def descent_without_zero_grad(params, loss_of, lr: float, steps: int) -> list[torch.Tensor]:
    """Trusted side: where plain gradient descent (float64) ends when the gradients are never
    cleared, to name that mistake. `loss_of(*params)` is the loss."""
    params = [p.double().clone().requires_grad_(True) for p in params]
    for _ in range(steps):
        loss_of(*params).backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return [p.detach().float() for p in params]


def linear_loss_and_grads(params, x, y, loss=F.cross_entropy):
    """Trusted side: `loss(logits, y)` of a linear classifier with these (weight, bias), computed in
    float64 (cross-entropy unless told), and its gradients (float32)."""
    w = params[0].double().requires_grad_(True)
    b = params[1].double().requires_grad_(True)
    with torch.enable_grad():
        value = loss(x.double() @ w.T + b, y)
        gw, gb = torch.autograd.grad(value, (w, b))
    return value.item(), [gw.float(), gb.float()]


def diagnose_steps(who: str, unit: str, steps, true, grads_after=None, hint: str = "") -> str | None:
    """Trusted side: what went wrong in the gradients optimizer.step() saw over consecutive calls
    of `who` (one call per `unit`, e.g. "batch"), or None if they are right.

    steps[i]: the gradient snapshots taken at each step() during call i; true[i]: the gradients
    of call i's loss; grads_after[i], when known: the .grad left once call i returned.
    """
    from grader.checks import FLOAT32_SMALL, close

    def same(a, b):
        return close(a, b, tol=FLOAT32_SMALL)

    def empty(grads):
        return all(g is None or not bool(g.any()) for g in grads)

    counts = [len(s) for s in steps]
    if sum(counts) == 0:
        return f"{who} never called optimizer.step(): update the parameters with the optimizer you were given"
    if any(c != 1 for c in counts):
        bad = next(c for c in counts if c != 1)
        return f"{who} called optimizer.step() {bad} times for one {unit}; call it exactly once per {unit}"
    seen = [s[0] for s in steps]
    if all(empty(g) for g in seen):
        if grads_after is None:
            return ("optimizer.step() found no gradients, so the parameters never moved: the gradients "
                    "were cleared between loss.backward() and optimizer.step(), or step ran before "
                    "backward. The order is zero_grad, forward, loss, backward, step")
        if all(same(a, t) for a, t in zip(grads_after, true)):
            return ("optimizer.step() ran before loss.backward(): the step found no gradients and "
                    "backward computed them only afterwards. Call loss.backward() first, then "
                    "optimizer.step()")
        return ("the gradients were cleared between loss.backward() and optimizer.step(), so the step "
                "found none and the parameters never moved. Call optimizer.zero_grad() before the "
                "forward pass (or after optimizer.step()), never between backward and step")
    running, total = [], None
    for t in true:
        total = t if total is None else [a + b for a, b in zip(total, t)]
        running.append(total)
    if len(seen) > 1 and all(same(g, r) for g, r in zip(seen, running)):
        return (f"the gradients were never cleared (no zero_grad): at each step they held the sum over "
                f"every {unit} so far. Call optimizer.zero_grad() once per step")
    if any(same(seen[i], true[i - 1]) for i in range(1, len(seen))) or empty(seen[0]):
        return (f"optimizer.step() ran before loss.backward(): each step used the gradients left over "
                f"from the previous {unit}. Call loss.backward() first, then optimizer.step()")
    if all(same(g, t) for g, t in zip(seen, true)):
        return None
    return f"the gradients at optimizer.step() are not those of this {unit}'s loss" + (f": {hint}" if hint else "")


def graph_mistake(facts, who: str, returned_graph=None) -> str | None:
    """Trusted side: what is wrong when some forward seen by a spy (`autograd_facts`) recorded a
    graph, or None. `returned_graph` False: what the function returned carried no graph."""
    if not any(f["graph"] for f in facts):
        return None
    after = (" and detached the result only afterwards, which does not undo it" if returned_graph is False
             else "")
    return (f"{who} ran the model with autograd recording a graph{after}: run the forward pass inside "
            "`with torch.no_grad():` (or torch.inference_mode()) so that no graph is built")


def mixed_devices(error: str | None) -> bool:
    """Trusted side: whether an error from `attempt` says tensors on two devices met (not that
    the meta device, which has no values, could not give one)."""
    return bool(error) and "device" in error.lower() and not any(m in error for m in VALUE_READS)


def check_devices(student) -> list[str]:
    """Trusted side: the devices a device check runs on: meta, and cuda when the worker has it."""
    return ["meta"] + (["cuda"] if student.run("cuda_available") else [])


def device_mistake(run: dict, what: str, device: str, made: str) -> str | None:
    """Trusted side: what a `run_on` record on `device` shows to be wrong, or None. `made` says what
    was probably created on the default device, and how to create it where the inputs are."""
    error, where = run["error"], run["device"]
    if mixed_devices(error):
        return f"{what} raised {error} with its inputs on {device}: {made}"
    if error and device != "meta":
        return f"{what} raised {error} with its inputs on {device}"
    if where is not None and torch.device(where).type != device:
        return f"{what} returned its result on {where}, not on {device} where its inputs are"
    return None


def expect_device_runs(student, runs: dict[str, str], made: str | dict[str, str]) -> None:
    """Trusted side: a device check. On each of `check_devices`, the probe `device_runs` gives a `run_on`
    record per name in `runs` (name -> what ran); each must show no `device_mistake`. `made` is passed
    on to it, one for all or one per name."""
    from grader.checks import expect

    for device in check_devices(student):
        got = student.run("device_runs", device=device)
        for name, what in runs.items():
            message = device_mistake(got[name], what, device, made if isinstance(made, str) else made[name])
            expect(message is None, message)


def value_of(num: dict | None, what: str, thing: str = "value") -> float:
    """Trusted side: the number a function returned, described by `number` (a 1-element tensor
    is accepted here; suites check the float type on its own), or a `Mistake`."""
    from grader.checks import Mistake

    if num is None or num.get("value") is None:
        kind = None if num is None else num.get("type")
        if kind == "NoneType":
            raise Mistake(f"{what} returned None: return the {thing}")
        raise Mistake(f"{what} should return the {thing} as a number, but it returned a {kind}")
    return num["value"]


def tensor_of(desc: dict, what: str, shape=None, dtype: str | None = "torch.float32") -> torch.Tensor:
    """Trusted side: the values of a described tensor, or a `Mistake` saying what is wrong."""
    from grader.checks import Mistake

    if not desc.get("is_tensor"):
        raise Mistake(f"{what} should be a tensor, but it is a {desc.get('type')}")
    if shape is not None and list(desc["shape"]) != list(shape):
        raise Mistake(f"{what} has shape {tuple(desc['shape'])}, expected {tuple(shape)}",
                      expected=tuple(shape), actual=tuple(desc["shape"]))
    if dtype is not None and desc["dtype"] != dtype:
        raise Mistake(f"{what} has dtype {desc['dtype']}, expected {dtype}")
    return desc["values"]
