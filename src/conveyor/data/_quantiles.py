"""A mergeable quantile sketch (KLL: Karnin, Lang, Liberty 2016) in vectorised numpy.

Items live in *levels*; an item on level ``h`` stands for ``2**h`` input values. When a
level grows past its capacity it is sorted and *compacted*: every other item (starting at
a pseudo-random offset) moves up one level with doubled weight, the rest are dropped.
Capacities shrink geometrically (factor 2/3) from ``k`` at the top level down to 8, so the
sketch holds about ``3k`` items whatever the input size. Total weight is preserved
exactly, so histogram counts derived from the sketch are integers that sum to ``n``.

Accuracy: the normalised rank error is about ``1.7 / k`` with high probability
(``k=600`` -> under 0.3% typical, within 0.5% in our tests on skewed data, across
thousands of merges). While ``n`` fits in the bottom level no compaction has happened
and quantiles are exact.

Offsets come from a counter hashed with splitmix64, so the same input in the same chunks
gives the same sketch (profiles are reproducible).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

__all__ = ["QuantileSketch"]

DEFAULT_K = 600
_MIN_CAP = 8
_MASK = (1 << 64) - 1


def _coin(counter: int) -> int:
    z = (counter * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) & 1


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge two sorted arrays in O(len(a) + len(b)) vectorised steps."""
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    if len(a) < len(b):
        a, b = b, a
    pos = np.searchsorted(a, b, side="right") + np.arange(len(b))
    out = np.empty(len(a) + len(b), dtype=np.float64)
    mask = np.ones(len(out), dtype=bool)
    mask[pos] = False
    out[pos] = b
    out[mask] = a
    return out


class QuantileSketch:
    """KLL sketch over float64 values: ``update``, ``merge``, ``quantiles``, ``cdf``."""

    def __init__(self, k: int = DEFAULT_K) -> None:
        if k < _MIN_CAP:
            raise ValueError(f"k must be at least {_MIN_CAP}, got {k}")
        self.k = int(k)
        self.n = 0
        self.levels: list[np.ndarray] = [np.empty(0, dtype=np.float64)]
        self._counter = 0

    # -- building ------------------------------------------------------------------------
    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - 1 - level
        return max(_MIN_CAP, math.ceil(self.k * (2.0 / 3.0) ** depth))

    def _add(self, level: int, items: np.ndarray) -> None:
        while len(self.levels) <= level:
            self.levels.append(np.empty(0, dtype=np.float64))
        self.levels[level] = _merge_sorted(self.levels[level], items)

    def _compress(self) -> None:
        """Lazy compaction: while the sketch is over its total capacity, compact the lowest
        level that is over its own capacity (as in the Apache DataSketches KLL)."""
        while True:
            caps = [self._capacity(h) for h in range(len(self.levels))]
            if sum(len(v) for v in self.levels) <= sum(caps):
                return
            level = next(h for h, v in enumerate(self.levels) if len(v) > caps[h])
            items = self.levels[level]
            self._counter += 1
            coin = _coin(self._counter)
            keep = np.empty(0, dtype=np.float64)
            if len(items) % 2:
                keep, items = (items[:1], items[1:]) if coin else (items[-1:], items[:-1])
            self.levels[level] = keep
            self._add(level + 1, items[coin::2])

    def update(self, values: np.ndarray) -> None:
        """Add finite float64 values (callers drop NaN and infinities)."""
        if len(values) == 0:
            return
        self.n += len(values)
        self._add(0, np.sort(np.asarray(values, dtype=np.float64)))
        self._compress()

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """Fold ``other`` into this sketch (in place) and return self."""
        self.n += other.n
        self._counter += other._counter
        for level, items in enumerate(other.levels):
            if len(items):
                self._add(level, items)
        self._compress()
        return self

    # -- querying ------------------------------------------------------------------------
    def _weighted(self) -> tuple[np.ndarray, np.ndarray]:
        items = np.concatenate(self.levels)
        weights = np.concatenate(
            [np.full(len(v), 1 << h, dtype=np.int64) for h, v in enumerate(self.levels)]
        )
        order = np.argsort(items, kind="stable")
        return items[order], np.cumsum(weights[order])

    def quantiles(self, qs: Any) -> np.ndarray:
        """Values at the given fractions (inverted empirical CDF); NaN when empty."""
        q = np.asarray(qs, dtype=np.float64)
        if self.n == 0:
            return np.full(q.shape, np.nan)
        items, cum = self._weighted()
        ranks = np.ceil(q * cum[-1]).clip(1, cum[-1])
        return items[np.searchsorted(cum, ranks, side="left").clip(0, len(items) - 1)]

    def weight_below(self, edges: Any, *, inclusive: bool = False) -> np.ndarray:
        """Estimated number of values ``< edge`` (``<=`` with ``inclusive``) per edge."""
        e = np.asarray(edges, dtype=np.float64)
        if self.n == 0:
            return np.zeros(e.shape, dtype=np.int64)
        items, cum = self._weighted()
        idx = np.searchsorted(items, e, side="right" if inclusive else "left")
        return np.concatenate([[0], cum])[idx]

    def cdf(self, values: Any) -> np.ndarray:
        """Estimated fraction of values ``<= value``."""
        return self.weight_below(values, inclusive=True) / max(self.n, 1)

    def histogram(self, edges: Any) -> list[int]:
        """Counts per bin like ``numpy.histogram``: ``[e_i, e_i+1)``, the last bin closed."""
        e = np.asarray(edges, dtype=np.float64)
        below = self.weight_below(e)
        below[-1] = self.weight_below(e[-1:], inclusive=True)[0]
        return [int(c) for c in np.diff(below)]

    @property
    def num_retained(self) -> int:
        return sum(len(v) for v in self.levels)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "n": self.n,
            "counter": self._counter,
            "levels": [
                base64.b64encode(v.astype("<f8").tobytes()).decode("ascii") for v in self.levels
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        sketch = cls(int(data["k"]))
        sketch.n = int(data["n"])
        sketch._counter = int(data.get("counter", 0))
        sketch.levels = [
            np.frombuffer(base64.b64decode(v), dtype="<f8").astype(np.float64)
            for v in data["levels"]
        ] or [np.empty(0, dtype=np.float64)]
        return sketch
