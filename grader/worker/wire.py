"""Wire format between a worker and the trusted process.

A frame is ``<8-byte big-endian header length><JSON header><payload>``. The header is
plain JSON; the payload is ``torch.save`` bytes that the trusted side reads with
``torch.load(weights_only=True)``, so no pickled code ever runs there.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zipfile

_LEN = struct.Struct(">Q")
MAX_UNPACKED_BYTES = 256 << 20
PLAIN_SCALARS = (bool, int, float, str, type(None))
# torch is imported inside the functions: the trusted side can start a zygote before
# paying for its own torch import.


class WireError(ValueError):
    """Bytes from a worker that are not a well-formed frame."""


def to_plain(obj, depth: int = 0):
    """Copy ``obj`` into plain data: tensors, scalars, str, None, lists, tuples, str-keyed dicts;
    a dataclass instance (a probe's typed result) becomes the dict of its fields."""
    import torch

    if depth > 20:
        raise TypeError("data nested too deeply")
    if type(obj) in PLAIN_SCALARS:
        return obj
    if type(obj) is torch.Tensor:
        return obj.detach().clone()
    if isinstance(obj, torch.Tensor):
        raise TypeError(f"a tensor subclass ({type(obj).__name__}) where a plain tensor was expected")
    if type(obj) in (torch.dtype, torch.device, torch.Size):
        return str(obj)
    if type(obj) in (list, tuple):
        return type(obj)(to_plain(x, depth + 1) for x in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj)}
    if type(obj) is dict:
        out = {}
        for k, v in obj.items():
            if type(k) not in PLAIN_SCALARS:
                raise TypeError(f"dict key of type {type(k).__name__}")
            out[k] = to_plain(v, depth + 1)
        return out
    raise TypeError(f"a value of type {type(obj).__name__} cannot be sent back")


def decode(buf: bytes) -> tuple[dict, object]:
    """(header, data) of a worker's reply; the data loaded with torch.load(weights_only=True)."""
    if len(buf) < _LEN.size:
        raise WireError("no result")
    (n,) = _LEN.unpack_from(buf)
    try:
        header = json.loads(buf[_LEN.size : _LEN.size + n])
    except ValueError as exc:
        raise WireError(f"malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise WireError("malformed header")
    payload = buf[_LEN.size + n :]
    if len(payload) != header.get("payload_bytes", 0):
        raise WireError("truncated payload")
    data = None
    if payload:
        try:
            data = load_untrusted(payload)
        except Exception as exc:  # anything refused is a bad frame, never code
            raise WireError(f"payload rejected: {type(exc).__name__}") from None
    return header, data


def load_untrusted(raw: bytes, max_unpacked: int = MAX_UNPACKED_BYTES):
    """`torch.load(weights_only=True)` of bytes written by untrusted code.

    No code runs; only torch.save's zip format is accepted, and only when its entries
    unpack to at most `max_unpacked` bytes, so crafted sizes cannot exhaust memory.
    """
    import torch

    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise ValueError("not a torch.save zip archive")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > max_unpacked:
        raise ValueError(f"the archive unpacks to {unpacked} bytes")
    return torch.load(io.BytesIO(raw), weights_only=True)


def encode(header: dict, data=None) -> bytes:
    """One frame; ``payload_bytes`` in the header tells the reader when it is done."""
    import torch

    payload = b""
    if data is not None:
        buf = io.BytesIO()
        torch.save(data, buf)
        payload = buf.getvalue()
    head = json.dumps({**header, "payload_bytes": len(payload)}).encode()
    return _LEN.pack(len(head)) + head + payload


def expected_length(buf: bytes) -> int | None:
    """Total frame length once the header has arrived, else None."""
    if len(buf) < _LEN.size:
        return None
    (n,) = _LEN.unpack_from(buf)
    if len(buf) < _LEN.size + n:
        return None
    try:
        header = json.loads(buf[_LEN.size : _LEN.size + n])
        return _LEN.size + n + int(header["payload_bytes"])
    except (ValueError, KeyError, TypeError):
        return None
