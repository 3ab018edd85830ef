"""KS on a joint fine histogram, for large samples: O(n) instead of O(n log n), bounded error.

Both windows are counted into ``bins`` (default 65,536) equal-width bins spanning
``[min, max]`` of the two windows together (one ``bincount`` per window, no sort). The
CDFs are then exact at every bin edge, so ``D_edges = max |F_ref(e) - F_cur(e)|`` is a
lower bound of the exact KS statistic, and inside a bin each CDF moves by at most that
bin's share of its window, so::

    D_edges <= D_exact <= D_edges + max_k max(p_ref[k], p_cur[k])

The bound (``max_error``) is computed for every column and reported. For a normal
column at 1M rows it is ~6e-5 (vs a drift decision around 0.02); when the mass
concentrates (heavy tails stretching the range, a few repeated values) the bound grows
and the caller falls back to the exact sorted computation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["binned_ks"]


def binned_ks(a: np.ndarray, b: np.ndarray, bins: int = 65_536) -> tuple[float, float] | None:
    """``(D_edges, max_error)`` of two finite non-empty samples, or None if unbinnable."""
    lo = float(min(a.min(), b.min()))
    hi = float(max(a.max(), b.max()))
    if hi == lo:  # both windows are the same constant
        return 0.0, 0.0
    span = hi - lo
    if not np.isfinite(span):
        return None
    scale = bins / span
    ca = _counts(a, lo, scale, bins)
    cb = _counts(b, lo, scale, bins)
    fa = np.cumsum(ca) / a.size
    fb = np.cumsum(cb) / b.size
    d = float(np.max(np.abs(fa - fb)))
    err = float(max(ca.max() / a.size, cb.max() / b.size))
    return d, err


def _counts(x: np.ndarray, lo: float, scale: float, bins: int) -> np.ndarray:
    counts = np.zeros(bins, dtype=np.int64)
    step = 1 << 20
    for start in range(0, x.size, step):  # blocks keep the float/int temporaries small
        idx = x[start : start + step] - lo
        idx *= scale
        k = idx.astype(np.intp)
        np.minimum(k, bins - 1, out=k)
        counts += np.bincount(k, minlength=bins)
    return counts
