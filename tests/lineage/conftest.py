"""Lineage fixtures: the pipelines' embedded backend and user-code folder, and a project
that has been through the whole loop once (data → run → version → gates → deployment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.pipelines.conftest import UserCode, backend, user_code

from conveyor.monitoring import crud as monitors
from conveyor.monitoring.monitors import MonitorSpec
from conveyor.pipelines import triggers

__all__ = ["backend", "user_code"]

TRAIN = """
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import conveyor

    @conveyor.step
    def load(n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, 2))
        y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype("int64")
        group = np.where(rng.random(n) < 0.5, "a", "b")
        return pd.DataFrame({"f0": x[:, 0], "f1": x[:, 1], "group": group, "label": y})

    @conveyor.step
    def train_and_register(data: pd.DataFrame, c: float) -> LogisticRegression:
        model = LogisticRegression(C=c).fit(data[["f0", "f1"]], data["label"])
        conveyor.log_model(
            model, input_example=data[["f0", "f1"]].head(5), registered_model_name="churn"
        )
        conveyor.end_run()
        return model

    @conveyor.pipeline
    def retrain(n: int = 400, c: float = 1.0, seed: int = 1):
        return train_and_register(load(n, seed=seed), c=c)
"""

POLICY = """\
evaluation_dataset: churn-eval@latest
label: label
checks:
  - metric: accuracy
    min: 0.6
  - fairness:
      sensitive: [group]
      min_group_size: 20
      demographic_parity_ratio: 0.5
      equalized_odds_difference: 0.5
"""


@pytest.fixture
def looped(backend: Any, user_code: UserCode, tmp_path: Path) -> Any:
    """churn/1 trained by a pipeline run through CI, gated and deployed on ``churn-api``;
    a drift monitor on the endpoint and a trigger retraining on its alerts."""
    from conveyor.pipelines.ci import run_ci

    user_code.write("churn_flow", TRAIN)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype("int64")
    group = np.where(rng.random(300) < 0.5, "a", "b")
    frame = pd.DataFrame({"f0": x[:, 0], "f1": x[:, 1], "group": group, "label": y})
    backend.log_dataset("churn-eval", frame)
    policy = tmp_path / "gates.yaml"
    policy.write_text(POLICY)
    first = run_ci(backend, "churn_flow:retrain", policy=policy, model="churn")
    assert first.passed, first.to_dict()
    backend.deploy("churn-api", model="churn/1", compile=False)
    with backend.meta.write(backend.actor) as uow:
        monitors.create_monitor(uow, MonitorSpec("churn-drift", "churn-api", "drift.share", 0.3))
        triggers.create_trigger(
            uow,
            "retrain-on-drift",
            pipeline="churn_flow:retrain",
            cause_kind="alert",
            cause="churn-drift",
            model="churn",
            params={"seed": 2},
        )
    return backend
