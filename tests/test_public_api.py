"""Pins the SDK surface: `conveyor.__all__` is exactly this, every name resolves, and
`import conveyor` stays light (no metadata store or ML stack until something needs it)."""

from __future__ import annotations

import subprocess
import sys

import conveyor

EXPECTED = [
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


def test_surface_is_pinned_and_resolves() -> None:
    assert sorted(conveyor.__all__) == EXPECTED
    for name in conveyor.__all__:
        assert getattr(conveyor, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        conveyor.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = (
        "import sys, conveyor; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'sklearn', 'fastapi') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
