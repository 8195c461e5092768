"""Typed probe results: one definition used by both sides of the trust boundary.

A probe declares what it returns with its return annotation: a dataclass, a plain type, or
`list`/`tuple`/`dict`/`X | None` of those. In the worker, `wire.to_plain` sends a dataclass
as the dict of its fields; on the trusted side `rebuild` turns that plain data back into the
declared type and refuses data of any other shape (a missing or extra field, a string where
a number belongs), so a check reads `got.calls[0].loss.value` and never a key that the probe
does not set. A probe without a return annotation returns its plain data as it came.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

import torch


class ShapeError(ValueError):
    """Plain data that is not of the type a probe declares."""


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _kind(data) -> str:
    return type(data).__name__


def rebuild(hint, data, where: str = "result"):
    """`data` (plain, as a worker sends it) as an instance of `hint`; `ShapeError` naming the
    first place (`where`, e.g. result.calls[0].loss) that does not fit."""
    if hint is Any or hint is object:
        return data
    if hint is None or hint is type(None):
        if data is not None:
            raise ShapeError(f"{where}: expected None, got {_kind(data)}")
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        problems = []
        for option in (a for a in args if a is not type(None)):
            try:
                return rebuild(option, data, where)
            except ShapeError as exc:
                problems.append(str(exc))
        raise ShapeError(problems[0] if len(problems) == 1 else
                         f"{where}: expected {_name(hint)}, got {_kind(data)}")
    if origin is typing.Literal:
        if data not in args:
            raise ShapeError(f"{where}: expected one of {list(args)}, got {data!r}")
        return data
    if dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise ShapeError(f"{where}: expected {hint.__name__}, got {_kind(data)}")
        fields = _field_types(hint)
        missing = [name for name in fields if name not in data]
        extra = [str(name) for name in data if name not in fields]
        if missing or extra:
            raise ShapeError(f"{where}: {hint.__name__} " + "; ".join(
                part for part in (f"lacks {', '.join(missing)}" if missing else "",
                                  f"has no field {', '.join(extra)}" if extra else "") if part))
        return hint(**{name: rebuild(t, data[name], f"{where}.{name}") for name, t in fields.items()})
    if origin in (list, tuple):
        if not isinstance(data, (list, tuple)):
            raise ShapeError(f"{where}: expected a {origin.__name__}, got {_kind(data)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(data) != len(args):
                raise ShapeError(f"{where}: expected {len(args)} items, got {len(data)}")
            return tuple(rebuild(t, x, f"{where}[{i}]") for i, (t, x) in enumerate(zip(args, data)))
        item = args[0] if args else Any
        return origin(rebuild(item, x, f"{where}[{i}]") for i, x in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict):
            raise ShapeError(f"{where}: expected a dict, got {_kind(data)}")
        key_type, value_type = args or (Any, Any)
        return {rebuild(key_type, k, f"{where} key"): rebuild(value_type, v, f"{where}[{k!r}]")
                for k, v in data.items()}
    if hint is float:  # an int is a float's value too, a bool is not
        ok = isinstance(data, (int, float)) and not isinstance(data, bool)
    elif hint is int:
        ok = isinstance(data, int) and not isinstance(data, bool)
    elif isinstance(hint, type):
        ok = isinstance(data, hint) and (hint is not torch.Tensor or type(data) is torch.Tensor)
    else:
        raise TypeError(f"a probe result cannot be declared as {hint!r}")
    if not ok:
        raise ShapeError(f"{where}: expected {_name(hint)}, got {_kind(data)}")
    return data


def declared(function) -> Any:
    """What a probe function declares it returns (Any when it has no return annotation)."""
    return typing.get_type_hints(function).get("return", Any)
