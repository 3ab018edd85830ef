"""Logged models: MLflow 3's record of a model logged from (or beside) a run.

A logged model's files are run artifacts under ``logged-models/<id>/`` of its run, so a
model version registered from it points at run artifacts like any Conveyor model. A model
logged outside any run gets a holder run (tag ``conveyor.logged_model``) in its experiment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.errors import NotFound, ValidationFailed
from conveyor.store import UnitOfWork
from conveyor.store.projects import current_project_id
from conveyor.store.tables import experiments
from conveyor.tracking import service
from conveyor.tracking.logged_model_tables import logged_models
from conveyor.tracking.validation import check_str_map

__all__ = [
    "LOGGED_MODEL_PREFIX",
    "LOGGED_MODEL_STATUSES",
    "LoggedModel",
    "create_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "search_logged_models",
    "set_logged_model_tags",
]

#: where a logged model's files live among its run's artifacts
LOGGED_MODEL_PREFIX = "logged-models"
LOGGED_MODEL_STATUSES = ("PENDING", "READY", "FAILED")


@dataclass
class LoggedModel:
    """A logged model record (its files: ``artifact_prefix`` of run ``run_id``)."""

    id: str
    experiment_id: str
    run_id: str
    name: str
    model_type: str
    source_run_id: str | None
    status: str
    status_message: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    created_by: str = ""
    created_at: int = 0
    updated_at: int = 0

    @property
    def artifact_prefix(self) -> str:
        return f"{LOGGED_MODEL_PREFIX}/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _model(row: Any) -> LoggedModel:
    return LoggedModel(
        id=row.id,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        name=row.name,
        model_type=row.model_type,
        source_run_id=row.source_run_id,
        status=row.status,
        status_message=row.status_message,
        params=dict(row.params or {}),
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_logged_model(
    uow: UnitOfWork,
    experiment_id: str,
    *,
    name: str = "",
    source_run_id: str | None = None,
    model_type: str = "",
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> LoggedModel:
    """Record a new (PENDING) logged model of ``source_run_id``, or of a holder run."""
    experiment = service.get_experiment(uow.conn, experiment_id)
    model_id = new_id()
    name = name or f"model-{model_id[:8]}"
    checked_params = check_str_map(params or {}, "param")
    checked_tags = check_str_map(tags or {}, "tag")
    if source_run_id:
        run = service.writable_run(uow.conn, source_run_id, "models")
        if run.experiment_id != experiment.id:
            raise ValidationFailed(
                f"run {source_run_id} is in another experiment than {experiment_id!r}"
            )
        run_id = source_run_id
    else:
        run_id = service.create_run(
            uow,
            experiment.id,
            name=f"logged-model-{model_id[:8]}",
            tags={"conveyor.logged_model": model_id},
        ).id
    now = now_ms()
    row: dict[str, Any] = {
        "id": model_id,
        "experiment_id": experiment.id,
        "run_id": run_id,
        "name": name,
        "model_type": model_type or "",
        "source_run_id": source_run_id or None,
        "status": "PENDING",
        "status_message": "",
        "params": checked_params,
        "tags": checked_tags,
        "created_by": uow.actor.name,
        "created_at": now,
        "updated_at": now,
    }
    uow.conn.execute(logged_models.insert().values(**row))
    uow.audit("logged_model.create", "logged_model", model_id, row)
    return _model(_Row(row))


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)


def _project_experiments() -> sa.Select[Any]:
    return sa.select(experiments.c.id).where(experiments.c.project_id == current_project_id())


def get_logged_model(conn: sa.Connection, model_id: str) -> LoggedModel:
    """One logged model by id."""
    if not isinstance(model_id, str) or not model_id:
        raise ValidationFailed("logged model id must be a non-empty string")
    row = conn.execute(
        sa.select(logged_models).where(
            logged_models.c.id == model_id,
            logged_models.c.experiment_id.in_(_project_experiments()),
        )
    ).first()
    if row is None:
        raise NotFound(f"logged model {model_id!r} does not exist")
    return _model(row)


def _update(uow: UnitOfWork, model_id: str, action: str, **values: Any) -> LoggedModel:
    get_logged_model(uow.conn, model_id)
    values["updated_at"] = now_ms()
    uow.conn.execute(logged_models.update().where(logged_models.c.id == model_id).values(**values))
    uow.audit(f"logged_model.{action}", "logged_model", model_id, values)
    return get_logged_model(uow.conn, model_id)


def finalize_logged_model(uow: UnitOfWork, model_id: str, status: str) -> LoggedModel:
    """Mark a logged model READY (its files are uploaded) or FAILED."""
    if status not in LOGGED_MODEL_STATUSES:
        raise ValidationFailed(f"status must be one of {LOGGED_MODEL_STATUSES}, got {status!r}")
    model = get_logged_model(uow.conn, model_id)
    if model.source_run_id is None and status != "PENDING":  # the holder run is done too
        service.end_run(uow, model.run_id, status="FINISHED" if status == "READY" else "FAILED")
    return _update(uow, model_id, "finalize", status=status)


def set_logged_model_tags(uow: UnitOfWork, model_id: str, tags: dict[str, str]) -> LoggedModel:
    """Set (overwrite) tags of a logged model."""
    model = get_logged_model(uow.conn, model_id)
    merged = {**model.tags, **check_str_map(tags, "tag")}
    return _update(uow, model_id, "set_tags", tags=merged)


def delete_logged_model_tag(uow: UnitOfWork, model_id: str, key: str) -> LoggedModel:
    """Remove one tag of a logged model; NotFound if it has none of that key."""
    model = get_logged_model(uow.conn, model_id)
    if key not in model.tags:
        raise NotFound(f"logged model {model_id} has no tag {key!r}")
    tags = {k: v for k, v in model.tags.items() if k != key}
    return _update(uow, model_id, "delete_tag", tags=tags)


def log_logged_model_params(uow: UnitOfWork, model_id: str, params: dict[str, str]) -> LoggedModel:
    """Add params to a logged model (a param already set keeps its value)."""
    model = get_logged_model(uow.conn, model_id)
    merged = {**check_str_map(params, "param"), **model.params}
    return _update(uow, model_id, "log_params", params=merged)


def search_logged_models(
    conn: sa.Connection,
    experiment_ids: list[str] | None = None,
    *,
    source_run_id: str | None = None,
    name: str | None = None,
    max_results: int = 100,
    offset: int = 0,
) -> list[LoggedModel]:
    """Logged models of some experiments (newest first), optionally of one run or name."""
    query = sa.select(logged_models)
    if experiment_ids:
        ids = [service.get_experiment(conn, e).id for e in experiment_ids]
        query = query.where(logged_models.c.experiment_id.in_(ids))
    else:
        query = query.where(logged_models.c.experiment_id.in_(_project_experiments()))
    if source_run_id:
        query = query.where(logged_models.c.source_run_id == source_run_id)
    if name:
        query = query.where(logged_models.c.name == name)
    query = query.order_by(logged_models.c.created_at.desc(), logged_models.c.id)
    return [_model(r) for r in conn.execute(query.limit(max_results).offset(offset))]
