"""Our statistics against the reference implementations (Fairlearn, scikit-learn, scipy)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from conveyor.gates.checks.fairness import _group_keys, group_table, parity_numbers
from conveyor.gates.context import Scored
from conveyor.gates.stats import (
    bootstrap_weights,
    mcnemar_interval,
    paired_bootstrap,
    weighted_metric,
)


def _scored(y: np.ndarray, score: np.ndarray, task: str = "classification") -> Scored:
    if task == "regression":
        return Scored(None, None, "regression", y, score, None, None, None)  # type: ignore[arg-type]
    pred = (score >= 0.5).astype(np.int64)
    proba = np.column_stack([1 - score, score])
    return Scored(None, None, "classification", y, pred, proba, [0, 1], 1)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 800
    y = rng.integers(0, 2, n)
    good = np.clip(0.5 + (y - 0.5) * 0.5 + rng.normal(0, 0.25, n), 0.001, 0.999)
    weak = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.25, n), 0.001, 0.999)
    good[:40] = np.round(good[:40], 1)  # ties
    return y, good, weak


def test_weighted_metrics_equal_sklearn_on_resampled_rows(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """A weight vector of draw counts is the same as the rows repeated: compare exactly."""
    y, score, _ = data
    s = _scored(y, score)
    pred = s.y_pred
    refs = {
        "accuracy": lambda i: skm.accuracy_score(y[i], pred[i]),
        "precision": lambda i: skm.precision_score(y[i], pred[i]),
        "recall": lambda i: skm.recall_score(y[i], pred[i]),
        "f1": lambda i: skm.f1_score(y[i], pred[i]),
        "auc": lambda i: skm.roc_auc_score(y[i], score[i]),
        "log_loss": lambda i: skm.log_loss(y[i], s.proba[i], labels=[0, 1]),  # type: ignore[index]
    }
    rng = np.random.default_rng(1)
    for _ in range(3):
        idx = rng.integers(0, len(y), len(y))
        w = np.bincount(idx, minlength=len(y)).astype(np.float64)
        for name, ref in refs.items():
            ours = weighted_metric(name, s)(w)[0]
            assert ours == pytest.approx(ref(idx), abs=1e-9), name
    reg = _scored(score * 3, score * 3 + np.sin(np.arange(len(y))), "regression")
    idx = rng.integers(0, len(y), len(y))
    w = np.bincount(idx, minlength=len(y)).astype(np.float64)
    yt, yp = reg.y_true[idx], reg.y_pred[idx]
    assert weighted_metric("mae", reg)(w)[0] == pytest.approx(skm.mean_absolute_error(yt, yp))
    assert weighted_metric("rmse", reg)(w)[0] == pytest.approx(
        np.sqrt(skm.mean_squared_error(yt, yp))
    )
    assert weighted_metric("r2", reg)(w)[0] == pytest.approx(skm.r2_score(yt, yp))


def test_bootstrap_weights_are_multinomial_draws() -> None:
    chunks = list(bootstrap_weights(50, 1000, seed=3, cells=5000))
    w = np.concatenate(chunks)
    assert w.shape == (1000, 50) and (w.sum(axis=1) == 50).all()
    assert w.mean() == pytest.approx(1.0) and w.var() == pytest.approx(1 - 1 / 50, rel=0.05)


@pytest.mark.parametrize("metric", ["accuracy", "auc"])
def test_paired_bootstrap_interval_matches_scipy(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], metric: str
) -> None:
    y, good, weak = data
    a, b = _scored(y, good), _scored(y, weak)
    cand, champ = paired_bootstrap(
        weighted_metric(metric, a), weighted_metric(metric, b), len(y), resamples=4000, seed=11
    )
    diff = cand - champ
    ours = np.quantile(diff, [0.05, 0.95])

    if metric == "accuracy":
        ca, cb = (a.y_pred == y).astype(float), (b.y_pred == y).astype(float)

        def stat(i: np.ndarray, axis: int = -1) -> np.ndarray:
            i = i.astype(int)
            return ca[i].mean(axis=axis) - cb[i].mean(axis=axis)

        vectorized = True
    else:

        def stat(i: np.ndarray) -> float:  # type: ignore[misc]
            i = i.astype(int)
            return skm.roc_auc_score(y[i], good[i]) - skm.roc_auc_score(y[i], weak[i])

        vectorized = False
    ref = sps.bootstrap(
        (np.arange(len(y)),),
        stat,
        n_resamples=4000 if metric == "accuracy" else 1500,
        confidence_level=0.90,
        method="percentile",
        vectorized=vectorized,
        random_state=5,
    ).confidence_interval
    # two Monte-Carlo estimates of the same quantiles: agree to a small fraction of the width
    width = ours[1] - ours[0]
    assert ours[0] == pytest.approx(ref.low, abs=0.08 * width)
    assert ours[1] == pytest.approx(ref.high, abs=0.08 * width)
    point = (
        weighted_metric(metric, a)(np.ones(len(y)))[0]
        - weighted_metric(metric, b)(np.ones(len(y)))[0]
    )
    assert ours[0] < point < ours[1]


def test_mcnemar_interval(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y, good, weak = data
    ca = (good >= 0.5).astype(int) == y
    cb = (weak >= 0.5).astype(int) == y
    mc = mcnemar_interval(ca, cb, 0.95)
    b, c = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    assert (mc["b_candidate_only"], mc["c_champion_only"]) == (b, c)
    assert mc["difference"] == pytest.approx(ca.mean() - cb.mean())
    assert mc["p_value"] == pytest.approx(sps.binomtest(b, b + c, 0.5).pvalue)
    # the normal interval agrees with the paired bootstrap of the same difference
    diffs = np.array(
        [
            (ca[i].mean() - cb[i].mean())
            for i in np.random.default_rng(2).integers(0, len(y), (3000, len(y)))
        ]
    )
    assert mc["lower_one_sided"] == pytest.approx(np.quantile(diffs, 0.05), abs=0.006)
    lo, hi = mc["interval"]
    assert lo == pytest.approx(np.quantile(diffs, 0.025), abs=0.006)
    assert hi == pytest.approx(np.quantile(diffs, 0.975), abs=0.006)


def test_fairness_numbers_equal_fairlearn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fairlearn.metrics import (
            MetricFrame,
            demographic_parity_ratio,
            equalized_odds_difference,
            false_positive_rate,
            selection_rate,
            true_positive_rate,
        )
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "gender": rng.choice(["f", "m", "x"], n, p=[0.45, 0.45, 0.1]),
            "region": rng.choice(["north", "south"], n),
        }
    )
    y = rng.integers(0, 2, n)
    bias = np.where(frame["gender"] == "m", 0.15, 0.0) + np.where(
        frame["region"] == "south", 0.05, 0
    )
    pred = (rng.random(n) < 0.4 + bias + 0.2 * y).astype(int)
    for columns in (["gender"], ["region"], ["gender", "region"]):
        codes, names = _group_keys(frame, columns)
        rows = group_table(codes, names, y.astype(float), pred.astype(float))
        ours = parity_numbers(rows)
        sensitive = frame[columns] if len(columns) > 1 else frame[columns[0]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dpr = demographic_parity_ratio(y, pred, sensitive_features=sensitive)
            eod = equalized_odds_difference(y, pred, sensitive_features=sensitive)
            mf = MetricFrame(
                metrics={
                    "selection_rate": selection_rate,
                    "tpr": true_positive_rate,
                    "fpr": false_positive_rate,
                    "accuracy": skm.accuracy_score,
                },
                y_true=y,
                y_pred=pred,
                sensitive_features=sensitive,
            )
        assert ours["demographic_parity_ratio"] == pytest.approx(dpr, abs=1e-12)
        assert ours["equalized_odds_difference"] == pytest.approx(eod, abs=1e-12)
        by_group = mf.by_group
        for row in rows:
            key = tuple(row["group"].split(" & ")) if len(columns) > 1 else row["group"]
            for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
                assert row[metric] == pytest.approx(by_group.loc[key, metric], abs=1e-12)
