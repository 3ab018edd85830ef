"""Mergeable category frequencies: Misra-Gries heavy hitters + HyperLogLog distinct count.

*Frequencies* — a Misra-Gries summary with ``capacity`` counters (default 512). While a
column has at most ``capacity`` distinct values every count is exact. Beyond that, when
the counters overflow, the (capacity+1)-th largest count is subtracted from all and
non-positive counters dropped; each reported count is then a lower bound, short by at
most ``(n - sum of counters) / (capacity + 1)`` (Agarwal et al. 2012: the same bound holds
after merges). Any value more frequent than that bound is guaranteed to be kept.

*Distinct* — HyperLogLog with 2**12 one-byte registers (standard error ~1.6%), exact
(the number of counters) while the Misra-Gries summary has never overflowed. Values are
hashed with a vectorised, seed-fixed 64-bit hash (splitmix64 over the value bits;
position-keyed multiply-sum over the bytes of strings), identical across processes.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FrequencySketch", "hash_values"]

DEFAULT_CAPACITY = 512
HLL_P = 12
_M = 1 << HLL_P
_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xBF58476D1CE4E5B9)
_C3 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.uint64) + _C1
    z = (z ^ (z >> np.uint64(30))) * _C2
    z = (z ^ (z >> np.uint64(27))) * _C3
    return z ^ (z >> np.uint64(31))


def _is_bytes_like(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
        or pa.types.is_binary(dtype)
        or pa.types.is_large_binary(dtype)
        or pa.types.is_binary_view(dtype)
    )


def hash_values(values: pa.Array) -> np.ndarray:
    """A stable 64-bit hash per non-null value of ``values`` (uint64 array)."""
    values = values.drop_null()
    if len(values) == 0:
        return np.empty(0, dtype=np.uint64)
    dtype = values.type
    if _is_bytes_like(dtype):
        arr = values.cast(pa.large_binary())
        bufs = arr.buffers()
        offsets = np.frombuffer(bufs[1], dtype=np.int64, count=len(arr) + 1, offset=8 * arr.offset)
        offsets = offsets - offsets[0]
        start = int(np.frombuffer(bufs[1], dtype=np.int64, count=1, offset=8 * arr.offset)[0])
        total = int(offsets[-1])
        data = (
            np.frombuffer(bufs[2], dtype=np.uint8, count=total, offset=start)
            if total
            else np.empty(0, dtype=np.uint8)
        )
        lengths = np.diff(offsets)
        pos = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        contrib = data.astype(np.uint64) * (_splitmix(pos.astype(np.uint64)) | np.uint64(1))
        csum = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(contrib, dtype=np.uint64)])
        sums = csum[offsets[1:]] - csum[offsets[:-1]]
        return _splitmix(sums ^ _splitmix(lengths.astype(np.uint64)))
    if pa.types.is_boolean(dtype):
        bits = values.to_numpy(zero_copy_only=False).astype(np.uint64)
    elif pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        floats = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        bits = np.where(floats == 0, 0.0, floats).view(np.uint64)
    elif pa.types.is_integer(dtype) or pa.types.is_temporal(dtype):
        bits = values.cast(pa.int64()).to_numpy(zero_copy_only=False).view(np.uint64)
    else:
        return hash_values(values.cast(pa.string()))
    return _splitmix(bits ^ np.uint64(0x5BD1E995))


def _encode(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _decode(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


class FrequencySketch:
    """Top values with counts, the weight outside them, and a distinct estimate."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = int(capacity)
        self.n = 0  # non-null values seen
        self.counters: dict[Any, int] = {}
        self.overflowed = False
        self.registers = np.zeros(_M, dtype=np.uint8)

    # -- building ------------------------------------------------------------------------
    def _reduce(self) -> None:
        if len(self.counters) <= self.capacity:
            return
        self.overflowed = True
        counts = np.fromiter(self.counters.values(), dtype=np.int64, count=len(self.counters))
        cut = int(np.partition(counts, -(self.capacity + 1))[-(self.capacity + 1)])
        self.counters = {v: c - cut for v, c in self.counters.items() if c > cut}

    def _add_hashes(self, hashes: np.ndarray) -> None:
        if len(hashes) == 0:
            return
        idx = (hashes >> np.uint64(64 - HLL_P)).astype(np.intp)
        rest = (hashes & np.uint64((1 << (64 - HLL_P)) - 1)).astype(np.float64)
        _, exp = np.frexp(rest)  # rest < 2**52 is exact in float64
        rank = np.where(rest == 0, 64 - HLL_P + 1, 64 - HLL_P - exp + 1).astype(np.uint8)
        np.maximum.at(self.registers, idx, rank)

    def update(self, values: pa.Array) -> None:
        """Add the non-null values of an Arrow array (dictionary arrays are decoded)."""
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        values = values.drop_null()
        if len(values) == 0:
            return
        self.n += len(values)
        counted = pc.value_counts(values)
        uniques, counts = counted.field(0), counted.field(1).to_numpy()
        self._add_hashes(hash_values(uniques))
        if len(uniques) > self.capacity + 1:
            # only values already counted or among this chunk's top capacity+1 can survive
            top = np.argpartition(counts, -(self.capacity + 1))[-(self.capacity + 1) :]
            known = pa.array(list(self.counters), type=uniques.type) if self.counters else None
            mask = np.zeros(len(uniques), dtype=bool)
            mask[top] = True
            if known is not None:
                mask |= pc.is_in(uniques, value_set=known).to_numpy(zero_copy_only=False)
            keep = np.flatnonzero(mask)
            dropped = len(uniques) - len(keep)
            uniques, counts = uniques.take(pa.array(keep)), counts[keep]
            self.overflowed = self.overflowed or dropped > 0
        for value, count in zip(uniques.to_pylist(), counts.tolist(), strict=True):
            self.counters[value] = self.counters.get(value, 0) + count
        self._reduce()

    def merge(self, other: FrequencySketch) -> FrequencySketch:
        """Fold ``other`` into this sketch (in place) and return self."""
        self.n += other.n
        self.overflowed = self.overflowed or other.overflowed
        for value, count in other.counters.items():
            self.counters[value] = self.counters.get(value, 0) + count
        np.maximum(self.registers, other.registers, out=self.registers)
        self._reduce()
        return self

    # -- querying ------------------------------------------------------------------------
    def top(self, k: int) -> list[tuple[Any, int]]:
        """The ``k`` most frequent values, most frequent first (ties by value text)."""
        ranked = sorted(self.counters.items(), key=lambda vc: (-vc[1], str(vc[0])))
        return ranked[:k]

    def distinct(self) -> int:
        """Distinct non-null values: exact while never overflowed, else HyperLogLog."""
        if not self.overflowed:
            return len(self.counters)
        regs = self.registers.astype(np.float64)
        alpha = 0.7213 / (1 + 1.079 / _M)
        estimate = alpha * _M * _M / float(np.sum(np.exp2(-regs)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if estimate <= 2.5 * _M and zeros:
            estimate = _M * np.log(_M / zeros)
        return max(round(estimate), len(self.counters))

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "n": self.n,
            "overflowed": self.overflowed,
            "counters": [[v, c] for v, c in self.counters.items()],
            "hll": _encode(self.registers.tobytes()),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrequencySketch:
        sketch = cls(int(data["capacity"]))
        sketch.n = int(data["n"])
        sketch.overflowed = bool(data["overflowed"])
        sketch.counters = {v: int(c) for v, c in data["counters"]}
        sketch.registers = np.frombuffer(_decode(data["hll"]), dtype=np.uint8).copy()
        return sketch
