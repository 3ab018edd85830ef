"""Chi-square test of homogeneity — the default categorical method.

Both windows are samples, so the test is the two-sample one: a 2xK contingency table
(reference row, current row; one column per category, unseen categories included),
``χ² = Σ (O - E)² / E`` with ``E`` from the row and column totals, ``K - 1`` degrees of
freedom, no Yates correction — identical to
``scipy.stats.chi2_contingency(table, correction=False)``. (A goodness-of-fit test of the
current counts against reference *proportions* treats the reference as exact and, with
equal window sizes, roughly doubles the statistic under no drift — too many alarms.)

Effect size (``distance``): the Jensen-Shannon distance (base 2, in [0, 1]) of the two
distributions. Drift when ``p < alpha`` (Bonferroni-adjusted) **and**
``distance >= min_effect`` (default 0.02).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from conveyor.monitoring.drift._base import DriftMethod, Measurement
from conveyor.monitoring.drift.jensenshannon import js_distance

__all__ = ["ChiSquare", "chi2_homogeneity"]


def chi2_homogeneity(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, int]:
    """(statistic, p-value, dof) of the 2xK homogeneity test on two count vectors."""
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]]).astype(np.float64)
    k = table.shape[1]
    if k < 2:
        return 0.0, 1.0, 0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, k - 1)), k - 1


class ChiSquare(DriftMethod):
    """Chi-square homogeneity; drift when p < alpha (adjusted) and JS distance >= min_effect."""

    name = "chisquare"
    kind = "categorical"
    default_threshold = 0.05
    uses_p_value = True
    distance_label = "Jensen-Shannon distance"

    def __init__(self, min_effect: float = 0.02) -> None:
        self.min_effect = float(min_effect)

    def measure(self, reference: np.ndarray, current: np.ndarray) -> Measurement:
        stat, p, dof = chi2_homogeneity(reference, current)
        return Measurement(
            statistic=stat,
            distance=js_distance(reference, current),
            p_value=p,
            details={"dof": dof},
        )
