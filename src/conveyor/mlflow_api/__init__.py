"""MLflow's REST API served by ``conveyor server``: an adapter over Conveyor's services.

The stock ``mlflow`` client (``MLFLOW_TRACKING_URI=http://<conveyor server>``) tracks
experiments and runs, logs models (MLflow 3 logged models), moves artifacts through the
proxy and uses the model registry; everything lands in Conveyor's own store, so the same
objects are visible through Conveyor's SDK, CLI and registry. See docs/mlflow.md.
"""

from conveyor.mlflow_api.app import PREFIXES, install_mlflow_api

__all__ = ["PREFIXES", "install_mlflow_api"]
