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

from typing import TYPE_CHECKING, Any

from conveyor._lazy import lazy_getattr
from conveyor.errors import (
    Conflict,
    ConveyorError,
    IntegrityError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

# Resolved on first use so that `import conveyor` stays cheap (no SQLAlchemy, pandas or
# scikit-learn until something needs them).
_LAZY = {
    **dict.fromkeys(
        [
            "ActiveRun",
            "active_run",
            "end_run",
            "get_metric_history",
            "get_run",
            "log_artifact",
            "log_artifacts",
            "log_metric",
            "log_metrics",
            "log_param",
            "log_params",
            "search_runs",
            "set_experiment",
            "set_tag",
            "set_tags",
            "start_run",
        ],
        "conveyor.tracking.fluent",
    ),
    "MlflowClient": "conveyor.mlflow_sdk.client",
    "autolog": "conveyor.tracking.autolog",
    "ModelInfo": "conveyor.tracking.model_logging",
    "log_model": "conveyor.tracking.model_logging",
    "register_model": "conveyor.tracking.model_logging",
    "load_model": "conveyor.registry.sdk",
    "log_dataset": "conveyor.data.sdk",
    "log_input": "conveyor.data.sdk",
    "load_dataset": "conveyor.data.sdk",
    "pipeline": "conveyor.pipelines.steps",
    "step": "conveyor.pipelines.steps",
    "drift_report": "conveyor.monitoring",
    "quality_report": "conveyor.monitoring",
    "run_gates": "conveyor.gates.sdk",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from conveyor.client import Client
    from conveyor.data.sdk import load_dataset, log_dataset, log_input
    from conveyor.gates.sdk import run_gates
    from conveyor.mlflow_sdk.client import MlflowClient
    from conveyor.monitoring import drift_report, quality_report
    from conveyor.pipelines.steps import pipeline, step
    from conveyor.registry.sdk import load_model
    from conveyor.tracking.autolog import autolog
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
    "MlflowClient",
    "ModelInfo",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
    "__version__",
    "active_run",
    "autolog",
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
    "pipeline",
    "quality_report",
    "register_model",
    "run_gates",
    "search_runs",
    "set_experiment",
    "set_model_alias",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
]


def connect(uri: str | None = None) -> Client:
    """The typed client (``conveyor.client.Client``): the embedded stores, or the server at
    ``uri`` / ``CONVEYOR_URI``."""
    from conveyor.backend import connect as _connect

    return _connect(uri)


def get_model_version(name: str, ref: str | int = "latest") -> Any:
    """A registered model version by number, alias (``champion``) or ``latest``."""
    return connect().get_model_version(name, ref)


def set_model_alias(
    name: str, alias: str, version: int | str, *, override_reason: str | None = None
) -> Any:
    """Point an alias (``champion``, ``challenger`` ...) at a model version.

    A protected alias of a gated model needs a passing gate report (GateFailed otherwise);
    ``override_reason`` lets it through and is recorded in the audit log.
    """
    return connect().set_model_alias(name, alias, version, override_reason=override_reason)
