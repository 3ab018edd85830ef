"""Regression metrics of numeric predictions: pure numpy, equal to ``sklearn.metrics``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["regression_metrics"]


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """MAE, RMSE and R² (None when the labels are constant) of numeric predictions.

    A single-output prediction of shape ``(n, 1)`` counts as ``(n,)``; any other shape
    mismatch raises ``ValueError`` (never a broadcast ``n x n`` error matrix).
    """
    y = _one_column(np.asarray(y_true, dtype=np.float64), "labels")
    p = _one_column(np.asarray(y_pred, dtype=np.float64), "predictions")
    if y.shape != p.shape:
        raise ValueError(f"{len(p)} predictions for {len(y)} labels: pass one prediction per label")
    err = p - y
    ss_tot = float(np.sum((y - y.mean()) ** 2)) if len(y) else 0.0
    return {
        "n": len(y),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else None,
    }


def _one_column(values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as a 1-D array: ``(n,)`` as is, ``(n, 1)`` flattened, else ValueError."""
    if values.ndim == 2 and values.shape[1] == 1:
        return values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"regression {what} must be one number per row, got shape {values.shape} "
            "(performance metrics of multi-output regressors are not supported)"
        )
    return values
