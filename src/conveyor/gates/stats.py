"""Row-weighted metrics, the paired bootstrap, and McNemar's interval for accuracy.

Every metric here is a function of per-row weights ``W`` (shape ``(B, n)``): the point
estimate is ``W = 1``, a bootstrap resample is ``W = how often each row was drawn``, a
slice is ``W = its row mask``. Resampling therefore never copies or re-sorts rows: AUC sorts
the scores once and takes prefix sums of the negatives' weights, the mean-type metrics are
one matrix product. The same weights drive candidate and champion, which is
what makes the bootstrap *paired*.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from conveyor.gates.context import Scored

__all__ = [
    "DIRECTIONS",
    "WeightedMetric",
    "bootstrap_weights",
    "direction",
    "mcnemar_interval",
    "paired_bootstrap",
    "single_threaded_blas",
    "weighted_metric",
]

# +1: higher is better; -1: lower is better
DIRECTIONS = {
    "accuracy": 1,
    "precision": 1,
    "recall": 1,
    "f1": 1,
    "auc": 1,
    "r2": 1,
    "log_loss": -1,
    "error_rate": -1,
    "mae": -1,
    "rmse": -1,
    "mse": -1,
}
CLASSIFICATION = {"accuracy", "error_rate", "precision", "recall", "f1", "auc", "log_loss"}
BINARY_ONLY = {"precision", "recall", "f1", "auc"}
REGRESSION = {"mae", "rmse", "mse", "r2"}
_EPS = float(np.finfo(np.float64).eps)


def direction(metric: str, declared: str | None = None) -> int:
    """+1 when a higher ``metric`` is better, -1 when lower is (``declared`` overrides)."""
    if declared is not None:
        return 1 if declared == "higher" else -1
    return DIRECTIONS.get(metric, 1)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


@dataclass
class WeightedMetric:
    """A metric of one scored version as a function of row weights ``W`` → ``(B,)``."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        return self.fn(np.atleast_2d(weights))


def _auc(score: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Weighted Mann-Whitney AUC: for each positive, the weight of negatives scored below it
    (ties count half) is a prefix sum over the negatives in score order, looked up at
    positions found once with ``searchsorted``; each resample is one cumsum and two gathers."""
    yb = y.astype(bool)
    pos, neg = np.flatnonzero(yb), np.flatnonzero(~yb)
    neg = neg[np.argsort(score[neg], kind="mergesort")]
    pos = pos[np.argsort(score[pos], kind="mergesort")]  # monotone lookups: cache friendly
    below = np.searchsorted(score[neg], score[pos], side="left")
    upto = np.searchsorted(score[neg], score[pos], side="right")
    ties = bool((upto != below).any())

    def fn(w: np.ndarray) -> np.ndarray:
        wn = w[:, neg]
        cum = np.empty((w.shape[0], len(neg) + 1), dtype=w.dtype)
        cum[:, 0] = 0.0
        np.cumsum(wn, axis=1, out=cum[:, 1:])
        lower = cum[:, below]
        if ties:
            lower = 0.5 * (lower + cum[:, upto])
        wp = w[:, pos]
        num = np.einsum("ij,ij->i", wp, lower, dtype=np.float64)
        return _safe_div(num, wp.sum(axis=1, dtype=np.float64) * cum[:, -1].astype(np.float64))

    return fn


def _mean_of(values: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    v = values.astype(np.float64)
    return lambda w: _safe_div(w @ v, w.sum(axis=1))


def _ratio(num: np.ndarray, den: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    a, b = num.astype(np.float64), den.astype(np.float64)
    return lambda w: _safe_div(w @ a, w @ b)


def weighted_metric(metric: str, s: Scored) -> WeightedMetric:
    """``metric`` of ``s`` as a function of row weights; ValueError when it does not apply."""
    if metric in REGRESSION:
        if s.task != "regression":
            raise ValueError(f"{metric} is a regression metric; this model is a classifier")
        y, p = s.y_true.astype(np.float64), s.y_pred.astype(np.float64)
        err = p - y
        if metric == "mae":
            return WeightedMetric(metric, _mean_of(np.abs(err)))
        if metric in ("mse", "rmse"):
            mse = _mean_of(err**2)
            return WeightedMetric(metric, mse if metric == "mse" else (lambda w: np.sqrt(mse(w))))
        sq, ysq = err**2, y**2

        def r2(w: np.ndarray) -> np.ndarray:
            n = w.sum(axis=1)
            mean = _safe_div(w @ y, n)
            ss_tot = w @ ysq - n * mean**2
            return 1.0 - _safe_div(w @ sq, np.where(ss_tot > 1e-12 * n, ss_tot, 0.0))

        return WeightedMetric(metric, r2)
    if metric not in CLASSIFICATION:
        known = ", ".join(sorted(DIRECTIONS))
        raise ValueError(f"unknown metric {metric!r}; known: {known}")
    if s.task != "classification":
        raise ValueError(f"{metric} is a classification metric; this model is a regressor")
    correct = _correct(s)
    if metric == "accuracy":
        return WeightedMetric(metric, _mean_of(correct))
    if metric == "error_rate":
        return WeightedMetric(metric, _mean_of(1 - correct))
    if metric == "log_loss":
        if s.proba is None or s.classes is None:
            raise ValueError("log_loss needs class probabilities; this model gives none")
        index = {c: j for j, c in enumerate(s.classes)}
        y_idx = np.array([index.get(v, -1) for v in s.y_true.tolist()])
        if (y_idx < 0).any():
            raise ValueError("log_loss: some labels are not classes of the model")
        p = np.clip(s.proba[np.arange(len(y_idx)), y_idx], _EPS, 1 - _EPS)
        return WeightedMetric(metric, _mean_of(-np.log(p)))
    if not s.is_binary:
        raise ValueError(f"{metric} is computed for binary classifiers; use accuracy or log_loss")
    y, pred = s.y_bin, s.pred_bin
    if metric == "auc":
        if s.score is None:
            raise ValueError("auc needs class probabilities; this model gives none")
        return WeightedMetric(metric, _auc(s.score, y))
    tp = pred & y
    if metric == "precision":
        return WeightedMetric(metric, _ratio(tp, pred))
    if metric == "recall":
        return WeightedMetric(metric, _ratio(tp, y))
    return WeightedMetric(metric, _ratio(2 * tp, pred + y))  # F1 = 2TP / (2TP + FP + FN)


def _correct(s: Scored) -> np.ndarray:
    if s.y_true.dtype.kind in "biuf" and s.y_pred.dtype.kind in "biuf":
        return (s.y_true == s.y_pred).astype(np.int8)
    return np.asarray(
        [a == b for a, b in zip(s.y_true.tolist(), s.y_pred.tolist(), strict=True)], np.int8
    )


def bootstrap_weights(
    n: int, resamples: int, seed: int, *, cells: int = 1_000_000
) -> Iterator[np.ndarray]:
    """Resample weights in chunks: each row is how often a draw of ``n`` rows with
    replacement picked that row (multinomial counts), ``(B, n)`` float32 per chunk (counts
    and their sums up to 2**24 are exact in float32; half the memory traffic of float64).
    Chunks of about ``cells`` values stay in cache."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, cells // max(n, 1)))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float32)
        done += b


def paired_bootstrap(
    candidate: WeightedMetric,
    champion: WeightedMetric,
    n: int,
    *,
    resamples: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate and champion metric on the same resamples: two ``(resamples,)`` arrays."""
    cand, champ = [], []
    with single_threaded_blas():
        for w in bootstrap_weights(n, resamples, seed):
            cand.append(candidate(w))
            champ.append(champion(w))
    return np.concatenate(cand), np.concatenate(champ)


def single_threaded_blas() -> Any:
    """BLAS on one thread for the many small products of a bootstrap: multi-threaded
    OpenBLAS spins on a busy machine (50x the CPU time measured here at load 10)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def mcnemar_interval(
    cand_correct: np.ndarray, champ_correct: np.ndarray, confidence: float
) -> dict[str, Any]:
    """Paired accuracy difference (candidate - champion) from the discordant pairs.

    ``b`` rows only the candidate got right, ``c`` only the champion: the difference is
    ``(b - c) / n`` with variance ``(b + c - (b - c)²/n) / n²`` (the Wald interval for paired
    proportions that McNemar's test is built on); ``p_value`` is McNemar's exact test.
    """
    a, c_ = cand_correct.astype(bool), champ_correct.astype(bool)
    n = len(a)
    b = int(np.sum(a & ~c_))
    c = int(np.sum(~a & c_))
    diff = (b - c) / n if n else float("nan")
    se = float(np.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n) if n else float("nan")
    z1 = float(sps.norm.ppf(confidence))
    z2 = float(sps.norm.ppf(0.5 + confidence / 2))
    p_value = float(sps.binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    return {
        "n": n,
        "b_candidate_only": b,
        "c_champion_only": c,
        "difference": diff,
        "se": se,
        "lower_one_sided": diff - z1 * se,
        "interval": [diff - z2 * se, diff + z2 * se],
        "p_value": p_value,
    }
