"""The demo's retraining pipeline: ``conveyor pipeline run demo_flows:retrain``.

The trigger ``retrain-on-drift`` starts it when the drift monitor fires. It reads the
training data and the labelled live traffic (always the latest versions: ``cache=False``),
trains on both, keeps a holdout of recent traffic as the new evaluation data the gates
use, and returns the model — whose signature Conveyor infers from the training frame, so
the version the CI stage registers can be deployed as is. Every step after the loads is
keyed by the content of its inputs: run it again on the same data and they are hits.
"""

from __future__ import annotations

import pandas as pd
from churn_data import FEATURES, TARGET
from demo_models import logistic
from sklearn.pipeline import Pipeline

import conveyor


@conveyor.step(cache=False)
def load(dataset: str) -> pd.DataFrame:
    """The latest version of a dataset (read every run: new data must not be a hit)."""
    return conveyor.load_dataset(dataset)


@conveyor.step
def split(recent: pd.DataFrame, holdout_share: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recent labelled traffic → (rows to train on, holdout the gates evaluate on)."""
    holdout = recent.sample(frac=holdout_share, random_state=0)
    return recent.drop(index=holdout.index), holdout


@conveyor.step
def combine(base: pd.DataFrame, recent: pd.DataFrame) -> pd.DataFrame:
    """Training rows: the original data plus recent traffic weighted up (drift is recent)."""
    return pd.concat([base[[*FEATURES, TARGET]], recent, recent], ignore_index=True)


@conveyor.step
def fit(frame: pd.DataFrame, c: float = 0.5) -> Pipeline:
    return logistic(c).fit(frame[FEATURES], frame[TARGET])


@conveyor.step
def publish_holdout(holdout: pd.DataFrame) -> dict:
    """The holdout becomes the next version of the gates' evaluation dataset."""
    dv = conveyor.log_dataset(holdout.reset_index(drop=True), "churn-eval")
    return {"dataset": dv.name, "version": dv.version, "rows": dv.num_rows}


@conveyor.pipeline
def retrain(train: str = "churn-train", labels: str = "churn-labelled", c: float = 0.5):
    base, recent = load(train), load(labels)
    fresh, holdout = split(recent)
    model = fit(combine(base, fresh), c=c)
    publish_holdout(holdout)
    return model
