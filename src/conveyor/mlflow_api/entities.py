"""Conveyor records as MLflow's JSON entities (snake_case, int64 as numbers).

Artifact locations are ``mlflow-artifacts:`` URIs, so the stock client uploads and
downloads through the server's artifact proxy (:mod:`conveyor.mlflow_api.artifacts`):
experiment ``mlflow-artifacts:/<exp>``, run ``.../<exp>/<run>/artifacts``, logged model
``.../<exp>/models/<model_id>/artifacts``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from conveyor.mlflow_api._wire import encode_float, kv_list
from conveyor.registry.entities import Model, ModelVersion
from conveyor.store.tables import latest_metrics
from conveyor.tracking.entities import Experiment, Run
from conveyor.tracking.lifecycle import run_lifecycles
from conveyor.tracking.logged_model_tables import logged_models
from conveyor.tracking.logged_models import LOGGED_MODEL_PREFIX, LoggedModel

__all__ = [
    "INPUTS_TAG",
    "experiment_json",
    "logged_model_json",
    "model_json",
    "model_version_json",
    "run_artifact_uri",
    "runs_json",
]

#: the run tag where MLflow dataset inputs (which have no Conveyor dataset version) live
INPUTS_TAG = "conveyor.mlflow.dataset_inputs"
_LIFECYCLE = {"active": "active", "deleted": "deleted"}


def experiment_json(exp: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": exp.id,
        "name": exp.name,
        "artifact_location": f"mlflow-artifacts:/{exp.id}",
        "lifecycle_stage": _LIFECYCLE.get(exp.lifecycle, exp.lifecycle),
        "last_update_time": exp.updated_at,
        "creation_time": exp.created_at,
        "tags": kv_list(exp.tags),
    }


def run_artifact_uri(experiment_id: str, run_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def run_info_json(run: Run, lifecycle: str = "active") -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.tags.get("mlflow.user", run.user),
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": run_artifact_uri(run.experiment_id, run.id),
        "lifecycle_stage": lifecycle,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def runs_json(conn: sa.Connection, found: Sequence[Run]) -> list[dict[str, Any]]:
    """MLflow ``Run`` objects: info, data (latest metrics with step and time), inputs,
    outputs (the logged models of the run)."""
    ids = [r.id for r in found]
    points: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    outputs: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for run_id, key, value, step, ts in conn.execute(
            sa.select(
                latest_metrics.c.run_id,
                latest_metrics.c.key,
                latest_metrics.c.value,
                latest_metrics.c.step,
                latest_metrics.c.timestamp,
            ).where(latest_metrics.c.run_id.in_(chunk))
        ):
            points[run_id].append(
                {"key": key, "value": encode_float(value), "timestamp": ts, "step": step}
            )
        for model_id, run_id in conn.execute(
            sa.select(logged_models.c.id, logged_models.c.source_run_id).where(
                logged_models.c.source_run_id.in_(chunk)
            )
        ):
            outputs[run_id].append({"model_id": model_id, "step": 0})
    lifecycles = run_lifecycles(conn, ids)
    out = []
    for run in found:
        tags = run.tags
        stored_inputs = tags.get(INPUTS_TAG)
        if stored_inputs is not None:
            tags = {k: v for k, v in tags.items() if k != INPUTS_TAG}
        tag_list = [{"key": k, "value": v} for k, v in tags.items()]
        if "mlflow.runName" not in tags:
            tag_list.append({"key": "mlflow.runName", "value": run.name})
        dataset_inputs = json.loads(stored_inputs) if stored_inputs else []
        if run.inputs:
            dataset_inputs += [_conveyor_input(i) for i in run.inputs]
        out.append(
            {
                "info": run_info_json(run, lifecycles.get(run.id, "active")),
                "data": {
                    "metrics": points[run.id],
                    "params": kv_list(run.params),
                    "tags": tag_list,
                },
                "inputs": {"dataset_inputs": dataset_inputs},
                "outputs": {"model_outputs": outputs[run.id]},
            }
        )
    return out


def _conveyor_input(link: dict[str, Any]) -> dict[str, Any]:
    """A Conveyor dataset version linked to a run, as an MLflow dataset input."""
    return {
        "tags": [{"key": "mlflow.data.context", "value": str(link.get("context", ""))}],
        "dataset": {
            "name": f"{link['dataset']}",
            "digest": str(link["sha256"])[:8],
            "source_type": "conveyor",
            "source": json.dumps({"uri": f"datasets:/{link['dataset']}/{link['version']}"}),
        },
    }


def logged_model_json(model: LoggedModel) -> dict[str, Any]:
    status = {"PENDING": "LOGGED_MODEL_PENDING", "READY": "LOGGED_MODEL_READY"}.get(
        model.status, "LOGGED_MODEL_UPLOAD_FAILED"
    )
    info: dict[str, Any] = {
        "model_id": model.id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.created_at,
        "last_updated_timestamp_ms": model.updated_at,
        "artifact_uri": f"mlflow-artifacts:/{model.experiment_id}/models/{model.id}/artifacts",
        "status": status,
        "model_type": model.model_type,
        "status_message": model.status_message,
        "tags": kv_list(model.tags),
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    return {"info": info, "data": {"params": kv_list(model.params), "metrics": []}}


def logged_model_source(model: LoggedModel) -> str:
    """The Conveyor model URI of a logged model's files."""
    return f"runs:/{model.run_id}/{LOGGED_MODEL_PREFIX}/{model.id}"


def model_version_json(mv: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.created_at,
        "last_updated_timestamp": mv.created_at,
        "user_id": mv.created_by,
        "current_stage": "None",
        "description": mv.description,
        "source": mv.source,
        "status": "READY",
        "tags": kv_list(mv.tags),
        "aliases": list(mv.aliases),
    }
    if mv.run_id:
        out["run_id"] = mv.run_id
    model_id = logged_model_id(mv.source)
    if model_id:
        out["model_id"] = model_id
    return out


def logged_model_id(source: str) -> str | None:
    """The logged model a version's source points at, if any."""
    marker = f"/{LOGGED_MODEL_PREFIX}/"
    if source.startswith("runs:/") and marker in source:
        return source.rsplit("/", 1)[-1]
    return None


def model_json(model: Model, latest: ModelVersion | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": model.created_at,
        "last_updated_timestamp": model.updated_at,
        "description": model.description,
        "tags": kv_list(model.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
    }
    if latest is not None:
        out["latest_versions"] = [model_version_json(latest)]
    return out
