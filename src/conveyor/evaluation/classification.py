"""Classification metrics of labels and class probabilities: pure numpy (and scipy's ranks).

Every function takes arrays and returns plain Python numbers, lists and dicts (no NaN:
an undefined metric is None); the results equal ``sklearn.metrics`` on the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from conveyor.evaluation.labels import label_key, label_sort_key, plain_value

__all__ = ["calibration", "classification_metrics", "roc_auc"]

_EPS = float(np.finfo(np.float64).eps)


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Binary ROC AUC (ties averaged) of 0/1 ``y_true``; None when one class is absent."""
    y = np.asarray(y_true, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Expected calibration error and reliability bins of binary scores ``prob``.

    Equal-width bins over [0, 1]; ECE = Σ (n_bin / n) · |mean score - positive rate|.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(prob, dtype=np.float64), 0.0, 1.0)
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    nz = counts > 0
    mean_p = np.divide(sum_p, counts, out=np.zeros(n_bins), where=nz)
    rate = np.divide(sum_y, counts, out=np.zeros(n_bins), where=nz)
    ece = float(np.sum(counts[nz] / len(p) * np.abs(mean_p[nz] - rate[nz]))) if len(p) else 0.0
    bins = [
        {
            "lower": i / n_bins,
            "upper": (i + 1) / n_bins,
            "count": int(counts[i]),
            "mean_score": float(mean_p[i]) if nz[i] else None,
            "positive_rate": float(rate[i]) if nz[i] else None,
        }
        for i in range(n_bins)
    ]
    return {"ece": ece, "bins": bins}


def _prf(y: np.ndarray, pred: np.ndarray, classes: np.ndarray, positive: Any) -> dict[str, float]:
    def one(c: Any) -> tuple[float, float, float]:
        tp = float(np.sum((pred == c) & (y == c)))
        fp = float(np.sum((pred == c) & (y != c)))
        fn = float(np.sum((pred != c) & (y == c)))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    if positive is not None:
        p, r, f = one(positive)
    else:
        stats = np.array([one(c) for c in classes])
        p, r, f = (float(v) for v in stats.mean(axis=0))
    return {"precision": p, "recall": r, "f1": f}


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None = None,
    *,
    classes: Sequence[Any] | None = None,
    positive: Any = None,
    n_bins: int = 10,
) -> dict[str, Any]:
    """Metrics of predicted labels ``y_pred`` (and class probabilities ``proba``, one
    column per entry of ``classes``) against ``y_true``.

    Two classes: precision/recall/F1 of ``positive`` (default ``1``/``True`` when present,
    else the second class in sorted order), AUC/log loss/ECE from its probability
    column. More classes: macro averages, one-vs-rest macro AUC, multiclass log loss, ECE
    on the top-class confidence.
    """
    y, pred = np.asarray(y_true), np.asarray(y_pred)
    numeric = y.dtype.kind in "biuf" and pred.dtype.kind in "biuf"
    if numeric and all(isinstance(c, int | float) for c in classes or ()):
        seen: list[Any] = np.unique(np.concatenate([y, pred])).tolist()
    else:
        y, pred = y.astype(object), pred.astype(object)
        seen = sorted(set(y.tolist()) | set(pred.tolist()), key=label_sort_key)
    cls = np.asarray(list(classes) if classes is not None else seen, dtype=object)
    out: dict[str, Any] = {"n": len(y), "classes": [plain_value(c) for c in cls]}
    out["accuracy"] = float(np.mean(y == pred)) if len(y) else None
    binary = len(cls) == 2
    pos = positive
    if binary and pos is None:
        pos = next((c for c in cls if c is True or c == 1), cls[1])
    elif binary and not any(label_key(c) == label_key(pos) for c in cls):
        raise ValueError(
            f"positive class {pos!r} is not one of the classes {[plain_value(c) for c in cls]}"
        )
    out.update(_prf(y, pred, cls, pos if binary else None))
    if binary:
        out["positive"] = plain_value(pos)
    if proba is None:
        return out
    proba = np.asarray(proba, dtype=np.float64)
    y_idx = _class_index(y, cls)
    known = y_idx >= 0
    if not known.all():
        out["unknown_labels"] = int((~known).sum())
    yk, pk = y_idx[known], proba[known]
    if len(yk) == 0:
        return out
    row_sum = pk.sum(axis=1, keepdims=True)
    pn = np.clip(pk / np.where(row_sum > 0, row_sum, 1.0), _EPS, 1 - _EPS)
    pn = pn / pn.sum(axis=1, keepdims=True)
    out["log_loss"] = float(-np.mean(np.log(pn[np.arange(len(yk)), yk])))
    if binary:
        j = [label_key(c) for c in cls.tolist()].index(label_key(pos))
        hit = yk == j
        out["auc"] = roc_auc(hit, pk[:, j])
        cal = calibration(hit, pk[:, j], n_bins)
    else:
        aucs = [roc_auc(yk == j, pk[:, j]) for j in range(len(cls))]
        valid = [a for a in aucs if a is not None]
        out["auc"] = float(np.mean(valid)) if valid else None
        conf = pk.max(axis=1)
        cal = calibration(pk.argmax(axis=1) == yk, conf, n_bins)
    out["ece"] = cal["ece"]
    out["calibration_bins"] = cal["bins"]
    return out


def _class_index(y: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Index of each label in ``cls`` (-1 when unknown); vectorised for numeric labels."""
    if y.dtype.kind in "biuf" and all(isinstance(c, int | float) for c in cls.tolist()):
        values = np.asarray(cls.tolist(), dtype=np.float64)
        order = np.argsort(values, kind="stable")
        ranked = values[order]
        pos = np.clip(np.searchsorted(ranked, y.astype(np.float64)), 0, len(ranked) - 1)
        return np.where(ranked[pos] == y, order[pos], -1)
    index = {label_key(c): j for j, c in enumerate(cls.tolist())}
    return np.array([index.get(label_key(v), -1) for v in y.tolist()], dtype=np.int64)
