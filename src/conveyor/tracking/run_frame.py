"""Runs as a pandas DataFrame shaped like ``mlflow.search_runs()``'s.

One row per run; columns ``run_id``, ``experiment_id``, ``status``, ``artifact_uri``,
``start_time``, ``end_time`` (timezone-aware UTC timestamps, as MLflow returns them),
``run_name``, then ``metrics.<key>``, ``params.<key>`` and ``tags.<key>`` sorted by key.
Missing values are NaN (metrics) or None (params, tags).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conveyor.errors import ValidationFailed
from conveyor.tracking.entities import Run

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FRAME_COLUMNS", "check_view_type", "runs_frame"]

FRAME_COLUMNS = (
    "run_id",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "run_name",
)
#: MLflow's ViewType values that mean "active runs only", the only ones Conveyor serves.
_ACTIVE_ONLY = (None, 1, "ACTIVE_ONLY", "active_only")


def check_view_type(run_view_type: Any) -> None:
    """Refuse MLflow view types other than ACTIVE_ONLY, saying why."""
    if run_view_type not in _ACTIVE_ONLY:
        raise ValidationFailed(
            f"run_view_type={run_view_type!r} is not supported: Conveyor has no deleted "
            "runs to show (runs are never soft-deleted), so every search returns active "
            "runs. Drop run_view_type or pass ViewType.ACTIVE_ONLY (1)."
        )


def runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """The DataFrame MLflow's ``search_runs(output_format="pandas")`` would return."""
    import numpy as np
    import pandas as pd

    metric_keys = sorted({k for r in runs for k in r.metrics})
    param_keys = sorted({k for r in runs for k in r.params})
    tag_keys = sorted({k for r in runs for k in r.tags})
    columns: dict[str, Any] = {
        "run_id": [r.id for r in runs],
        "experiment_id": [r.experiment_id for r in runs],
        "status": [r.status for r in runs],
        "artifact_uri": [f"runs:/{r.id}" for r in runs],
        "start_time": pd.to_datetime([r.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.end_time for r in runs], unit="ms", utc=True),
        "run_name": [r.name for r in runs],
    }
    for key in metric_keys:
        columns[f"metrics.{key}"] = np.array([r.metrics.get(key, np.nan) for r in runs], float)
    for key in param_keys:
        columns[f"params.{key}"] = [r.params.get(key) for r in runs]
    for key in tag_keys:
        columns[f"tags.{key}"] = [r.tags.get(key) for r in runs]
    return pd.DataFrame(columns, index=pd.RangeIndex(len(runs)))
