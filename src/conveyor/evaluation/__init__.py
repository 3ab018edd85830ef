"""Model evaluation metrics shared by monitoring (labelled windows) and validation gates.

Pure functions of numpy arrays, no I/O and no Conveyor types::

    from conveyor.evaluation import classification_metrics, regression_metrics

    classification_metrics(y_true, y_pred, proba, classes=[0, 1])
    # {"n": ..., "accuracy": ..., "precision": ..., "recall": ..., "f1": ...,
    #  "log_loss": ..., "auc": ..., "ece": ..., "calibration_bins": [...], ...}
    regression_metrics(y_true, y_pred)   # {"n", "mae", "rmse", "r2"}

- :func:`classification_metrics`: accuracy, precision/recall/F1 (binary on the positive
  class, macro otherwise), and with probabilities log loss, ROC AUC (one-vs-rest macro for
  more than two classes) and expected calibration error with reliability bins.
- :func:`regression_metrics`: MAE, RMSE, R² (None when the labels are constant).
- :func:`roc_auc`, :func:`calibration`: the binary building blocks.
- :func:`label_key`: how labels compare (``1``, ``1.0`` and ``True`` are one class).

Undefined values are None, never NaN; bad shapes raise ``ValueError`` naming the problem.
"""

from __future__ import annotations

from conveyor.evaluation.classification import calibration, classification_metrics, roc_auc
from conveyor.evaluation.labels import label_key, label_sort_key
from conveyor.evaluation.regression import regression_metrics

__all__ = [
    "calibration",
    "classification_metrics",
    "label_key",
    "label_sort_key",
    "regression_metrics",
    "roc_auc",
]
