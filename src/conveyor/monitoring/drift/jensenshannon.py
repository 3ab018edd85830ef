"""Jensen-Shannon distance of two categorical distributions (base 2, in [0, 1]).

``JS = sqrt(½ KL(p‖m) + ½ KL(q‖m))``, ``m = (p + q)/2``, with ``0·log 0 = 0`` — no
smoothing needed, unseen categories (reference proportion 0) are handled exactly. Same
value as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``. Default threshold 0.1
(Evidently's).
"""

from __future__ import annotations

import numpy as np

from conveyor.monitoring.drift._base import DriftMethod, Measurement

__all__ = ["JensenShannon", "js_distance"]


def js_distance(ref: np.ndarray, cur: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2) of two count or probability vectors."""
    p = ref / max(float(ref.sum()), 1e-300)
    q = cur / max(float(cur.sum()), 1e-300)
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    return float(np.sqrt(max(0.5 * kl(p) + 0.5 * kl(q), 0.0)))


class JensenShannon(DriftMethod):
    """Jensen-Shannon distance; drift when >= threshold (default 0.1)."""

    name = "jensenshannon"
    kind = "categorical"
    default_threshold = 0.1
    distance_label = "Jensen-Shannon distance"

    def measure(self, reference: np.ndarray, current: np.ndarray) -> Measurement:
        d = js_distance(reference, current)
        return Measurement(statistic=d, distance=d)
