"""Population Stability Index, numeric (reference-quantile bins) and categorical.

``PSI = Σ (q_i - p_i) · ln(q_i / p_i)`` over bins, ``p`` the reference proportions and
``q`` the current ones.

* Numeric bins: ``bins`` (default 10) bins at reference quantiles, so each holds ~1/bins
  of the reference; tied quantiles (discrete data) merge bins. The outer bins are open
  (``-inf``, ``+inf``), so current values outside the reference range land in them.
  A constant reference gets three bins (below / at / above the constant), so a current
  window that leaves the constant reads as drift, as with KS.
* Categorical bins: one per category; unseen categories get their own bins (reference
  proportion 0).
* Epsilon smoothing: proportions are floored at ``eps = 1e-4`` before the formula, so an
  empty bin contributes a large but finite term instead of infinity (a bin going from 0
  to 1% of rows adds about 0.046). Proportions are not renormalised after flooring.

Thresholds (industry convention): < 0.1 stable, 0.1-0.2 moderate, >= 0.2 significant;
the default threshold is 0.2.
"""

from __future__ import annotations

import numpy as np

from conveyor.monitoring._columns import NumericSample
from conveyor.monitoring.drift._base import DriftMethod, Measurement

__all__ = ["EPS", "CategoricalPSI", "NumericPSI", "psi", "quantile_bin_counts"]

EPS = 1e-4


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = EPS) -> float:
    """PSI of two count vectors on the same bins, proportions floored at ``eps``."""
    p = np.maximum(ref_counts / max(ref_counts.sum(), 1), eps)
    q = np.maximum(cur_counts / max(cur_counts.sum(), 1), eps)
    return float(np.sum((q - p) * np.log(q / p)))


def quantile_bin_counts(
    a: np.ndarray, b: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of sorted ``a`` and ``b`` in bins cut at the quantiles of ``a``; and the cuts.

    A constant ``a`` (every value ``c``) gets three bins — below ``c``, exactly ``c``,
    above ``c`` (cuts ``[c, c]``) — so any current value other than ``c`` counts as a change.
    """
    if a.size and a[0] == a[-1]:
        c = a[0]
        below, upto = np.searchsorted(b, c, side="left"), np.searchsorted(b, c, side="right")
        ref = np.array([0.0, float(a.size), 0.0])
        cur = np.array([below, upto - below, b.size - upto], dtype=np.float64)
        return ref, cur, np.array([c, c])
    idx = np.clip((np.arange(1, bins) * a.size) // bins - 1, 0, a.size - 1)
    cuts = np.unique(a[idx])
    ref = np.diff(np.concatenate([[0], np.searchsorted(a, cuts, side="right"), [a.size]]))
    cur = np.diff(np.concatenate([[0], np.searchsorted(b, cuts, side="right"), [b.size]]))
    return ref.astype(np.float64), cur.astype(np.float64), cuts


class NumericPSI(DriftMethod):
    """PSI on reference-quantile bins; drift when >= threshold (default 0.2)."""

    name = "psi"
    kind = "numeric"
    default_threshold = 0.2
    distance_label = "PSI"

    def __init__(self, bins: int = 10, eps: float = EPS) -> None:
        self.bins = int(bins)
        self.eps = float(eps)

    def measure(self, reference: NumericSample, current: NumericSample) -> Measurement:
        ref, cur, cuts = quantile_bin_counts(
            reference.sorted_values(), current.sorted_values(), self.bins
        )
        value = psi(ref, cur, self.eps)
        return Measurement(statistic=value, distance=value, details={"bins": int(cuts.size + 1)})


class CategoricalPSI(DriftMethod):
    """PSI over categories (unseen ones in their own bins); drift when >= threshold."""

    name = "psi"
    kind = "categorical"
    default_threshold = 0.2
    distance_label = "PSI"

    def __init__(self, eps: float = EPS) -> None:
        self.eps = float(eps)

    def measure(self, reference: np.ndarray, current: np.ndarray) -> Measurement:
        value = psi(reference, current, self.eps)
        return Measurement(statistic=value, distance=value)
