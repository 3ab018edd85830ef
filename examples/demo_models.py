"""The demo's model builders (shared by the demo and its retraining pipeline)."""

from __future__ import annotations

from churn_data import FEATURES
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CATEGORICAL = ["contract", "payment_method", "region"]
NUMERIC = [c for c in FEATURES if c not in CATEGORICAL]


def preprocessor(scale: bool) -> ColumnTransformer:
    numeric = StandardScaler() if scale else "passthrough"
    return ColumnTransformer(
        [
            ("num", numeric, NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )


def logistic(c: float = 0.5) -> Pipeline:
    return Pipeline([("prep", preprocessor(True)), ("clf", LogisticRegression(C=c, max_iter=500))])


def gradient_boosting(max_iter: int = 120) -> Pipeline:
    return Pipeline(
        [
            ("prep", preprocessor(False)),
            (
                "clf",
                HistGradientBoostingClassifier(
                    max_iter=max_iter, learning_rate=0.08, max_leaf_nodes=24, random_state=0
                ),
            ),
        ]
    )
