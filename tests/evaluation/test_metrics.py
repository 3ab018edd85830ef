"""conveyor.evaluation: the shared metric functions, against sklearn.metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import conveyor.monitoring.performance as performance
from conveyor.evaluation import (
    calibration,
    classification_metrics,
    label_key,
    regression_metrics,
    roc_auc,
)


def test_binary_classification_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 500)
    p1 = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    proba = np.column_stack([1 - p1, p1])
    pred = (p1 >= 0.5).astype(int)
    out = classification_metrics(y, pred, proba, classes=[0, 1])
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert out["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert roc_auc(y, p1) == pytest.approx(skm.roc_auc_score(y, p1))
    assert calibration(y, p1)["ece"] == pytest.approx(out["ece"])


def test_multiclass_macro_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet([1, 1, 1], 300)
    proba[np.arange(300), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    out = classification_metrics(y, pred, proba, classes=[0, 1, 2])
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba))


def test_regression_matches_sklearn_and_refuses_bad_shapes() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.3, size=200)
    out = regression_metrics(y, p)
    assert out["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert out["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert out["r2"] == pytest.approx(skm.r2_score(y, p))
    assert regression_metrics(np.ones(3), np.ones(3))["r2"] is None
    with pytest.raises(ValueError, match="one prediction per label"):
        regression_metrics(y, p[:10])


def test_labels_compare_across_json_types() -> None:
    assert label_key(1.0) == label_key(1) == 1
    assert classification_metrics([1.0, 0.0], [True, False])["accuracy"] == 1.0


def test_monitoring_performance_uses_the_shared_functions() -> None:
    assert performance.classification_metrics is classification_metrics
    assert performance.regression_metrics is regression_metrics
    assert performance.roc_auc is roc_auc
