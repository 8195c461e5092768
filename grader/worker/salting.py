"""Salted probe inputs: every seed a worker sets is mixed with the grading run's salt.

Probes draw their inputs, initial weights and data from seeded generators
(`torch.Generator().manual_seed(k)`, `torch.manual_seed(k)`). With salt 0 (the default,
the one reference packs are recorded with) nothing changes. With another salt, each seed
k becomes mix(k, salt) for the probe, the submission and the reference alike (in the
forked worker), and for the checks that rebuild a probe's data (in the grading process):
the same seed still gives the same draws, different seeds different
ones, but no input matches one a student could have looked up in a reference pack.
"""

from __future__ import annotations

import contextlib

from grader import settings

MASK = (1 << 63) - 1
UNSEEDED = 67280421310721  # where the global generator of a salted run starts (torch's CUDA default)


def current() -> int:
    """The run's salt: $GRADER_SALT (an integer; 0 when unset)."""
    value = settings.raw("GRADER_SALT") or "0"
    try:
        return int(value) & MASK
    except ValueError:
        raise settings.SettingError(f"GRADER_SALT={value!r} is not an integer (grade batch --salt "
                                    "random picks one)") from None


def mix(seed: int, salt: int) -> int:
    """A seed of the salted run; `mix(seed, 0) == seed`."""
    return seed if salt == 0 else (int(seed) * 0x9E3779B97F4A7C15 + salt) & MASK


@contextlib.contextmanager
def salted(salt: int):
    """Within: every torch seed this process sets is mixed with `salt`. The worker enters it
    for good; the grading process around its checks, so that data a check rebuilds from a
    seed is the data the probe drew."""
    if salt == 0:
        yield
        return
    import torch

    plain_generator, plain_seed = torch.Generator, torch.manual_seed

    class Generator(plain_generator):
        def manual_seed(self, seed):
            return super().manual_seed(mix(seed, salt))

    def manual_seed(seed):
        return plain_seed(mix(seed, salt))

    torch.Generator = Generator
    torch.manual_seed = torch.random.manual_seed = manual_seed
    state = torch.random.get_rng_state()
    plain_seed(mix(UNSEEDED, salt))  # the global generator starts salted too, at no seed a
    # submission sets itself: one that forgot torch.manual_seed(0) must not draw its numbers
    try:
        yield
    finally:
        torch.Generator = plain_generator
        torch.manual_seed = torch.random.manual_seed = plain_seed
        torch.random.set_rng_state(state)


_for_good = []  # the worker's context: kept, since collecting it would undo the patch


def apply(salt: int) -> None:
    """In a freshly forked worker: salt every seed from now on."""
    _for_good.append(salted(salt))
    _for_good[-1].__enter__()
