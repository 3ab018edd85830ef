"""Plot data for reports: binned proportions of both windows on one axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.monitoring._columns import CategoricalPair, NumericSample

__all__ = ["categorical_plot", "numeric_plot"]


def numeric_plot(ref: NumericSample, cur: NumericSample, bins: int = 30) -> dict[str, Any]:
    """Equal-width bins over the 0.5-99.5% range of both windows (tails clipped into the
    end bins), as proportions of each window's non-null values."""
    a, b = _plot_sample(ref), _plot_sample(cur)
    if a.size == 0 and b.size == 0:
        return {}
    lows = [x[int(0.005 * (x.size - 1))] for x in (a, b) if x.size]
    highs = [x[int(np.ceil(0.995 * (x.size - 1)))] for x in (a, b) if x.size]
    lo, hi = float(min(lows)), float(max(highs))
    if hi <= lo:  # constant data: a unit-wide axis around the value
        lo, hi = lo - 0.5, lo + 0.5
    edges = np.linspace(lo, hi, bins + 1)

    def props(x: np.ndarray) -> list[float]:
        if x.size == 0:
            return [0.0] * bins
        idx = np.searchsorted(x, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], idx, [x.size]]))
        return (counts / x.size).round(6).tolist()

    return {
        "type": "histogram",
        "edges": edges.tolist(),
        "reference": props(a),
        "current": props(b),
    }


def _plot_sample(s: NumericSample, limit: int = 20_000) -> np.ndarray:
    """Sorted values for the chart: all of them if sorted or small, else every k-th value
    (a systematic sample of at most ``limit``; charts are for the eye, not the verdict)."""
    if s.is_sorted or s.n <= limit:
        return s.sorted_values()
    return np.sort(s.values[:: -(-s.n // limit)])


def categorical_plot(pair: CategoricalPair, top: int = 20) -> dict[str, Any]:
    """Proportions of the ``top`` categories (by the larger of both shares) plus 'other'."""
    r = pair.reference / max(pair.reference.sum(), 1)
    c = pair.current / max(pair.current.sum(), 1)
    order = np.argsort(-np.maximum(r, c), kind="stable")
    keep, rest = order[:top], order[top:]
    seen = len(pair.categories) - len(pair.unseen)
    labels = [pair.categories[i] + (" (unseen)" if i >= seen else "") for i in keep]
    ref_p, cur_p = r[keep].tolist(), c[keep].tolist()
    if rest.size:
        labels.append(f"other ({rest.size})")
        ref_p.append(float(r[rest].sum()))
        cur_p.append(float(c[rest].sum()))
    return {
        "type": "bars",
        "categories": labels,
        "reference": [round(x, 6) for x in ref_p],
        "current": [round(x, 6) for x in cur_p],
    }
