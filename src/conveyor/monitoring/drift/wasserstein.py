"""Wasserstein-1 (earth mover's) distance normalised by the reference standard deviation.

``W = ∫ |F_ref(x) - F_cur(x)| dx`` computed exactly on the merged sorted values (same as
``scipy.stats.wasserstein_distance``), divided by the reference standard deviation
(population, ddof=0), so ``0.1`` reads "mass moved by 0.1 reference std on average"; a
pure mean shift of ``k`` std gives exactly ``k``. Default threshold 0.1 (Evidently's).

A constant reference (std 0) has no scale: if the current data is the same constant the
distance is 0, otherwise the column is reported as insufficient data with that reason.
"""

from __future__ import annotations

import numpy as np

from conveyor.monitoring._columns import NumericSample
from conveyor.monitoring.drift._base import DriftMethod, InsufficientData, Measurement

__all__ = ["WassersteinNormed", "wasserstein_sorted"]


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance of two **sorted** 1-d arrays (exact)."""
    merged = np.concatenate([a, b])
    merged.sort(kind="stable")  # two sorted runs: a linear merge
    deltas = np.diff(merged)
    cdf_a = np.searchsorted(a, merged[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, merged[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * deltas))


class WassersteinNormed(DriftMethod):
    """Normalised Wasserstein distance; drift when >= threshold (default 0.1)."""

    name = "wasserstein"
    kind = "numeric"
    default_threshold = 0.1
    distance_label = "Wasserstein / reference std"

    def measure(self, reference: NumericSample, current: NumericSample) -> Measurement:
        w = wasserstein_sorted(reference.sorted_values(), current.sorted_values())
        scale = float(np.std(reference.values))
        if scale == 0.0 or not np.isfinite(scale):
            if w == 0.0:
                return Measurement(statistic=0.0, distance=0.0, details={"scale": 0.0})
            raise InsufficientData(
                "reference column is constant (std 0): normalised Wasserstein is undefined"
            )
        return Measurement(statistic=w, distance=w / scale, details={"scale": scale})
