"""MLflow habits in Conveyor's SDK: ``conveyor.MlflowClient`` and MLflow-shaped records.

See docs/mlflow.md ("SDK habits").
"""

from conveyor.mlflow_sdk.client import MlflowClient
from conveyor.mlflow_sdk.entities import (
    MlflowExperiment,
    MlflowModelVersion,
    MlflowRegisteredModel,
)

__all__ = ["MlflowClient", "MlflowExperiment", "MlflowModelVersion", "MlflowRegisteredModel"]
