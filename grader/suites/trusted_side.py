"""Helpers that checks share: they run on the trusted side (test_hidden.py), on the plain data
the probes sent back, typed as the probes declare (worker_side.py holds the shared types)."""

import torch
import torch.nn.functional as F

from grader.checks import FLOAT32_SMALL, LOSS, Mistake, close, expect, near
from grader.suites.worker_side import VALUE_READS, Described, DeviceRun, Number


def descent_without_zero_grad(params, loss_of, lr: float, steps: int) -> list[torch.Tensor]:
    """where plain gradient descent (float64) ends when the gradients are never
    cleared, to name that mistake. `loss_of(*params)` is the loss."""
    params = [p.double().clone().requires_grad_(True) for p in params]
    for _ in range(steps):
        loss_of(*params).backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return [p.detach().float() for p in params]


def linear_loss_and_grads(params, x, y, loss=F.cross_entropy):
    """`loss(logits, y)` of a linear classifier with these (weight, bias), computed in
    float64 (cross-entropy unless told), and its gradients (float32)."""
    w = params[0].double().requires_grad_(True)
    b = params[1].double().requires_grad_(True)
    with torch.enable_grad():
        value = loss(x.double() @ w.T + b, y)
        gw, gb = torch.autograd.grad(value, (w, b))
    return value.item(), [gw.float(), gb.float()]


def diagnose_steps(who: str, unit: str, steps, true, grads_after=None, hint: str = "") -> str | None:
    """what went wrong in the gradients optimizer.step() saw over consecutive calls
    of `who` (one call per `unit`, e.g. "batch"), or None if they are right.

    steps[i]: the gradient snapshots taken at each step() during call i; true[i]: the gradients
    of call i's loss; grads_after[i], when known: the .grad left once call i returned.
    """
    def same(a, b):
        return close(a, b, tol=FLOAT32_SMALL)

    def empty(grads):
        return all(g is None or not bool(g.any()) for g in grads)

    problem = step_count_problem(who, steps, unit=unit)
    if problem:
        return problem
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


def step_count_problem(who: str, steps, optimizer: str = "optimizer", moved: str = "the parameters",
                       unit: str | None = None) -> str | None:
    """What is wrong with how often `who` called `optimizer`.step() (steps[i]: the steps of its call
    i, once per `unit` if given), or None when it stepped exactly once each time."""
    counts = [len(s) for s in steps]
    if sum(counts) == 0:
        return f"{who} never called {optimizer}.step(): update {moved} with the optimizer you were given"
    bad = next((c for c in counts if c != 1), None)
    if bad is None:
        return None
    if unit:
        return f"{who} called {optimizer}.step() {bad} times for one {unit}; call it exactly once per {unit}"
    return f"{who} called {optimizer}.step() {bad} times in one call; call it exactly once"


def loss_after_step(who: str, value: float, after: float, expected: float,
                    step: str = "the optimizer step") -> str | None:
    """The mistake of returning the loss computed after `step` (`after`: the loss at the parameters
    the step left) rather than the `expected` one the step was made from, or None."""
    if near(value, after, tol=LOSS) and not near(after, expected, tol=LOSS):
        return f"{who} returned the loss after {step}; return the loss the step was made from"
    return None


def graph_mistake(facts, who: str, returned_graph=None) -> str | None:
    """what is wrong when some forward seen by a spy (`autograd_facts`) recorded a
    graph, or None. `returned_graph` False: what the function returned carried no graph."""
    if not any(f.graph for f in facts):
        return None
    after = (" and detached the result only afterwards, which does not undo it" if returned_graph is False
             else "")
    return (f"{who} ran the model with autograd recording a graph{after}: run the forward pass inside "
            "`with torch.no_grad():` (or torch.inference_mode()) so that no graph is built")


def mixed_devices(error: str | None) -> bool:
    """whether an error from `attempt` says tensors on two devices met (not that
    the meta device, which has no values, could not give one)."""
    return bool(error) and "device" in error.lower() and not any(m in error for m in VALUE_READS)


def check_devices(student) -> list[str]:
    """the devices a device check runs on: meta, and cuda when the worker has it."""
    return ["meta"] + (["cuda"] if student.run("cuda_available") else [])


def device_mistake(run: DeviceRun, what: str, device: str, made: str) -> str | None:
    """what a `run_on` record on `device` shows to be wrong, or None. `made` says what
    was probably created on the default device, and how to create it where the inputs are."""
    error, where = run.error, run.device
    if mixed_devices(error):
        return f"{what} raised {error} with its inputs on {device}: {made}"
    if error and device != "meta":
        return f"{what} raised {error} with its inputs on {device}"
    if where is not None and torch.device(where).type != device:
        return f"{what} returned its result on {where}, not on {device} where its inputs are"
    return None


def expect_device_runs(student, runs: dict[str, str], made: str | dict[str, str]) -> None:
    """a device check. On each of `check_devices`, the probe `device_runs` gives a `run_on`
    record per name in `runs` (name -> what ran); each must show no `device_mistake`. `made` is passed
    on to it, one for all or one per name."""
    for device in check_devices(student):
        got = student.run("device_runs", device=device)
        for name, what in runs.items():
            message = device_mistake(got[name], what, device, made if isinstance(made, str) else made[name])
            expect(message is None, message)


def value_of(num: Number | None, what: str, thing: str = "value") -> float:
    """the number a function returned, described by `number` (a 1-element tensor
    is accepted here; suites check the float type on its own), or a `Mistake`."""
    if num is None or num.value is None:
        kind = None if num is None else num.type
        if kind == "NoneType":
            raise Mistake(f"{what} returned None: return the {thing}")
        raise Mistake(f"{what} should return the {thing} as a number, but it returned a {kind}")
    return num.value


def tensor_of(desc: Described, what: str, shape=None, dtype: str | None = "torch.float32") -> torch.Tensor:
    """the values of a described tensor, or a `Mistake` saying what is wrong."""
    if not desc.is_tensor:
        raise Mistake(f"{what} should be a tensor, but it is a {desc.type}")
    if shape is not None and list(desc.shape) != list(shape):
        raise Mistake(f"{what} has shape {tuple(desc.shape)}, expected {tuple(shape)}",
                      expected=tuple(shape), actual=tuple(desc.shape))
    if dtype is not None and desc.dtype != dtype:
        raise Mistake(f"{what} has dtype {desc.dtype}, expected {dtype}")
    return desc.values
