"""Column samples: the one-pass summaries every drift method and quality check reads.

* :class:`NumericSample` - the finite values of one column plus row and null counts,
  sorted on demand (once) for the methods that need order statistics: exact KS,
  Wasserstein and PSI bins then run as ``searchsorted`` over sorted arrays.
  Memory: 8 bytes per non-null row of the one column being analysed.
* :class:`CategoricalSample` — value counts of one column (categories as text).
* :class:`CategoricalPair` — reference and current counts aligned on one category axis;
  categories never seen in the reference are kept, in their own slots, and listed in
  ``unseen``.

NaN and ±inf in numeric columns count as missing (``null_count``), like pandas does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.monitoring._sources import DEFAULT_CHUNK_ROWS, Source, round_to, to_float_array

__all__ = [
    "CategoricalPair",
    "CategoricalSample",
    "NumericSample",
    "read_categorical",
    "read_numeric",
]


@dataclass(slots=True)
class NumericSample:
    """Finite values of a numeric column and how many rows it had.

    ``values`` may be unsorted; :meth:`sorted_values` sorts them in place once (methods
    that need order statistics call it; binned methods do not pay for a sort).
    """

    values: np.ndarray
    rows: int
    is_sorted: bool = False

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def null_count(self) -> int:
        return self.rows - self.n

    def sorted_values(self) -> np.ndarray:
        if not self.is_sorted:
            self.values.sort()
            self.is_sorted = True
        return self.values

    @classmethod
    def from_values(cls, values: object) -> NumericSample:
        arr = np.asarray(values, dtype=np.float64).ravel()
        return cls(np.array(arr[np.isfinite(arr)]), int(arr.size))


@dataclass(frozen=True, slots=True)
class CategoricalSample:
    """Value counts of a categorical column (text labels), plus row and null counts."""

    counts: dict[str, int]
    rows: int

    @property
    def n(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def null_count(self) -> int:
        return self.rows - self.n

    @classmethod
    def from_values(cls, values: object) -> CategoricalSample:
        arr = pa.array(values, from_pandas=True) if not isinstance(values, pa.Array) else values
        return cls(_value_counts([arr]), len(arr))


@dataclass(frozen=True, slots=True)
class CategoricalPair:
    """Reference and current counts on one category axis (reference categories first)."""

    categories: list[str]
    reference: np.ndarray
    current: np.ndarray
    unseen: list[str] = field(default_factory=list)

    @classmethod
    def align(cls, ref: CategoricalSample, cur: CategoricalSample) -> CategoricalPair:
        cats = sorted(ref.counts, key=lambda c: (-ref.counts[c], c))
        unseen = sorted(
            (c for c in cur.counts if c not in ref.counts), key=lambda c: -cur.counts[c]
        )
        axis = cats + unseen
        r = np.array([ref.counts.get(c, 0) for c in axis], dtype=np.float64)
        k = np.array([cur.counts.get(c, 0) for c in axis], dtype=np.float64)
        return cls(axis, r, k, unseen)

    @property
    def unseen_count(self) -> int:
        return int(self.current[len(self.categories) - len(self.unseen) :].sum())


def read_numeric(
    source: Source,
    name: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    precision: np.dtype[Any] | None = None,
) -> NumericSample:
    """Stream one numeric column into an array of its finite values (not sorted), rounded
    to ``precision`` (see ``_sources.narrowest_float``) when given."""
    out = np.empty(source.num_rows, dtype=np.float64)
    pos = 0
    rows = 0
    for chunk in source.chunks(name, chunk_rows):
        vals = round_to(to_float_array(chunk), precision)
        rows += vals.size
        if not np.isfinite(vals).all():
            vals = vals[np.isfinite(vals)]
        if pos + vals.size > out.size:  # a source that under-reported its row count
            out = np.resize(out, max(pos + vals.size, 2 * out.size))
        out[pos : pos + vals.size] = vals
        pos += vals.size
    return NumericSample(out[:pos], rows)


def read_categorical(
    source: Source, name: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> CategoricalSample:
    """Stream one column into value counts keyed by the text of each value."""
    rows = 0
    chunks = []
    for chunk in source.chunks(name, chunk_rows):
        rows += len(chunk)
        chunks.append(pc.value_counts(chunk))
    return CategoricalSample(_merge_counts(chunks), rows)


def _value_counts(arrays: list[pa.Array]) -> dict[str, int]:
    return _merge_counts([pc.value_counts(a) for a in arrays])


def _merge_counts(parts: list[pa.StructArray]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in parts:
        values = part.field("values")
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        labels = values.to_pylist()
        for label, count in zip(labels, part.field("counts").to_pylist(), strict=True):
            if label is None:
                continue
            key = label if isinstance(label, str) else str(label)
            counts[key] = counts.get(key, 0) + int(count)
    return counts
