"""The v2 binary tensor extension (as Triton, KServe and MLServer speak it).

A request with the header ``Inference-Header-Content-Length: N`` carries a JSON header
of ``N`` bytes followed by raw tensor bytes; each input sent that way has
``"parameters": {"binary_data_size": <bytes>}`` instead of ``"data"``, and its bytes
follow the header in the order of the inputs. Numbers are little-endian; ``BOOL`` is one
byte per value; ``BYTES`` is each element as a 4-byte little-endian length and its bytes.
A response is encoded the same way when the request asks for it: per output
(``"parameters": {"binary_data": true}``) or for all (request parameter
``"binary_data_output": true``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from conveyor.errors import ValidationFailed

__all__ = ["DTYPES", "decode_tensor", "encode_tensor", "split_body"]

DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
_LEN = struct.Struct("<I")


def _bad(field: str, error: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid v2 input {field!r}: {error}",
        details={"errors": [{"field": field, "error": error}], "error_count": 1},
    )


def split_body(body: bytes, header_length: bytes) -> tuple[bytes, memoryview]:
    """The JSON header and the tensor bytes after it, per ``Inference-Header-Content-Length``."""
    try:
        n = int(header_length)
    except ValueError:
        n = -1
    if not 0 <= n <= len(body):
        raise _bad(
            "Inference-Header-Content-Length",
            f"{header_length.decode('latin-1')[:40]!r} is not a length within the body of "
            f"{len(body)} bytes",
        )
    return body[:n], memoryview(body)[n:]


def decode_tensor(name: str, datatype: Any, shape: Sequence[int], raw: memoryview) -> Any:
    """Raw bytes -> a numpy array of ``shape`` (numbers, BOOL) or a list of str (BYTES)."""
    count = 1
    for s in shape:
        count *= s
    if datatype == "BYTES":
        values: list[str] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise _bad(name, "BYTES data ends inside a 4-byte length prefix")
            (size,) = _LEN.unpack_from(raw, pos)
            pos += 4
            if pos + size > len(raw):
                raise _bad(name, f"BYTES element {len(values)} needs {size} bytes, few remain")
            try:
                values.append(bytes(raw[pos : pos + size]).decode())
            except UnicodeDecodeError:
                raise _bad(name, f"BYTES element {len(values)} is not UTF-8 text") from None
            pos += size
        if len(values) != count:
            raise _bad(
                name, f"BYTES data has {len(values)} elements, shape {list(shape)} needs {count}"
            )
        return values
    dtype = DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise _bad(name, f"binary data needs a datatype among {[*sorted(DTYPES), 'BYTES']}")
    if len(raw) != count * dtype.itemsize:
        raise _bad(
            name,
            f"binary data has {len(raw)} bytes, shape {list(shape)} of {datatype} needs "
            f"{count * dtype.itemsize}",
        )
    arr = np.frombuffer(raw, dtype=dtype)
    if datatype == "BOOL" and (np.frombuffer(raw, dtype=np.uint8) > 1).any():
        raise _bad(name, "BOOL data must be bytes 0 or 1")
    return arr.reshape(shape)


def encode_tensor(values: np.ndarray) -> bytes:
    """A numpy array as the extension's raw bytes (little-endian; BYTES length-prefixed)."""
    if values.dtype.kind in "biuf":
        return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()
    parts = []
    for v in values.reshape(-1).tolist():
        b = v if isinstance(v, bytes) else str(v).encode()
        parts.append(_LEN.pack(len(b)))
        parts.append(b)
    return b"".join(parts)
