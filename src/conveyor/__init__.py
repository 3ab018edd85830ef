"""Conveyor: versioned data, tracked experiments, a model registry, serving and monitoring.

The public SDK surface is this module's ``__all__`` (pinned by tests/test_public_api.py)::

    import conveyor

    conveyor.set_experiment("churn")
    with conveyor.start_run():
        conveyor.log_params({"model": "rf", "max_depth": 8})
        conveyor.log_metric("auc", 0.91)
        conveyor.log_model(model, "model", input_example=X[:5], registered_model_name="churn")
    model = conveyor.load_model("models:/churn@champion")

Embedded by default (SQLite + a local folder under ``CONVEYOR_HOME``); set
``CONVEYOR_URI=http://host:port`` to use a server with the same calls.
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import (
    Conflict,
    ConveyorError,
    IntegrityError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from conveyor.registry.uris import load_model
from conveyor.tracking.fluent import (
    ActiveRun,
    active_run,
    end_run,
    get_metric_history,
    get_run,
    log_artifact,
    log_artifacts,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    start_run,
)
from conveyor.tracking.model_logging import ModelInfo, log_model, register_model

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "Conflict",
    "ConveyorError",
    "IntegrityError",
    "ModelInfo",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
    "__version__",
    "active_run",
    "connect",
    "drift_report",
    "end_run",
    "get_metric_history",
    "get_model_version",
    "get_run",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_model_alias",
    "set_tag",
    "set_tags",
    "start_run",
]


def connect(uri: str | None = None) -> Any:
    """The backend the SDK uses: embedded store, or the server at ``uri``/CONVEYOR_URI."""
    from conveyor.backend import connect as _connect

    return _connect(uri)


def get_model_version(name: str, ref: str | int = "latest") -> Any:
    """A registered model version by number, alias (``champion``) or ``latest``."""
    return connect().get_model_version(name, ref)


def set_model_alias(name: str, alias: str, version: int | str) -> Any:
    """Point an alias (``champion``, ``challenger`` ...) at a model version."""
    return connect().set_alias(name, alias, version)


def log_dataset(data: Any, name: str, **options: Any) -> Any:
    """Log a DataFrame, Arrow table or Parquet/CSV path as an immutable dataset version.

    Same content, same version. With an active run, the version is linked as its input.
    See ``conveyor.data.sdk.log_dataset`` for the options (expectations, context ...).
    """
    from conveyor.data.sdk import log_dataset as _log_dataset

    return _log_dataset(data, name, **options)


def log_input(dataset_version: Any, context: str = "training") -> None:
    """Link a dataset version to the active run as an input."""
    from conveyor.data.sdk import log_input as _log_input

    _log_input(dataset_version, context)


def load_dataset(name: str, version: int | None = None) -> Any:
    """A dataset version's data as a pandas DataFrame (latest version by default)."""
    from conveyor.data.sdk import load_dataset as _load_dataset

    return _load_dataset(name, version)


def drift_report(reference: Any, current: Any, **options: Any) -> Any:
    """Compare ``current`` data to ``reference`` per column; see conveyor.monitoring."""
    from conveyor.monitoring import drift_report as _drift_report

    return _drift_report(reference, current, **options)
