"""An exercise's public API (as its README lists it) and how a submission's signatures compare.

An entry is written as in the README: ``"fit_line(x, y, lr=0.1, steps=100)"`` or
``"class LinearModel(in_features)"``. A submission matches when its function (or its
class's ``__init__``) accepts the required parameters positionally, the defaulted ones
by keyword, and can also be called without the defaulted ones.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiEntry:
    """One name of an exercise's API: a function or a class, with its parameters."""
    spec: str
    name: str
    kind: str  # "function" or "class"
    required: tuple[str, ...]
    optional: tuple[str, ...]


def parse(spec: str) -> ApiEntry:
    """The ApiEntry that an API line such as `fit_line(x, y, lr=0.1)` describes."""
    text = spec.strip()
    kind = "function"
    if text.startswith("class "):
        kind, text = "class", text[len("class "):]
    call = ast.parse(text, mode="eval").body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        raise ValueError(f"bad API entry {spec!r}")
    required = tuple(a.id for a in call.args)
    optional = tuple(k.arg for k in call.keywords)
    return ApiEntry(spec.strip(), call.func.id, kind, required, optional)


def _signature(params: list) -> inspect.Signature:
    return inspect.Signature([
        inspect.Parameter(name, inspect._ParameterKind(kind),
                          default=0 if has_default else inspect.Parameter.empty)
        for name, kind, has_default in params
    ])


def mismatch(entry: ApiEntry, described: dict, filename: str) -> str | None:
    """A one-line message if the described name does not fit the entry, else None."""
    kind = described.get("kind")
    if kind == "missing":
        return f"{filename} does not define `{entry.name}` (expected `{entry.spec}`)"
    if kind != entry.kind:
        return f"`{entry.name}` should be a {entry.kind}, but it is a {kind}"
    if described.get("params") is None:
        return None
    sig = _signature(described["params"])
    args = list(entry.required)
    try:
        sig.bind(*args, **{name: 0 for name in entry.optional})
        sig.bind(*args)
    except TypeError:
        shown = entry.name + str(sig)
        return f"`{shown}` does not match the README's signature `{entry.spec}`"
    return None
