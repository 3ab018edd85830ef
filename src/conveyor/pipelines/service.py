"""Pipeline state in the metadata store: pipeline runs, their steps, the cache lookup.

Plain functions taking a ``UnitOfWork`` (writes, audited) or a ``Connection`` (reads),
like the other services. The engine (``engine.py``) calls them; so do the CLI and the
trigger controller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Limit, check_limit
from conveyor._util import new_id, now_ms, to_iso
from conveyor.errors import NotFound, ValidationFailed
from conveyor.pipelines.tables import pipeline_runs, pipeline_steps
from conveyor.store.projects import current_project_id, in_current_project
from conveyor.store.tables import DEFAULT_PROJECT_ID
from conveyor.store.uow import UnitOfWork

__all__ = [
    "PipelineRun",
    "StepRecord",
    "cached_step",
    "create_pipeline_run",
    "explain_pipeline_run",
    "finish_pipeline_run",
    "get_pipeline_run",
    "list_pipeline_runs",
    "list_steps",
    "recent_steps",
    "record_step",
    "start_pipeline_run",
]

ACTIVE = ("queued", "running")


@dataclass(slots=True)
class StepRecord:
    """One step call of a pipeline run."""

    seq: int
    step: str
    name: str
    status: str
    cache: str
    reason: str
    cache_key: str
    key_parts: dict[str, Any]
    run_id: str | None
    outputs: dict[str, Any] | None
    error: str | None
    started_at: int
    ended_at: int

    @property
    def duration_ms(self) -> int:
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["duration_ms"] = self.duration_ms
        return out


@dataclass(slots=True)
class PipelineRun:
    """A pipeline run; ``id`` is also the id of its tracked parent run."""

    id: str
    pipeline: str
    target: str
    params: dict[str, Any]
    status: str
    error: str | None
    no_cache: bool
    executor: str
    trigger_id: str | None
    cause: dict[str, Any] | None
    resumed_from: str | None
    created_by: str
    created_at: int
    started_at: int | None
    ended_at: int | None
    steps: list[StepRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["steps"] = [s.to_dict() for s in self.steps]
        out["created_at_iso"] = to_iso(self.created_at)
        hits = sum(1 for s in self.steps if s.cache == "hit")
        out["cache_hits"] = hits
        out["cache_misses"] = len(self.steps) - hits
        return out


_RUN_FIELDS = [f for f in PipelineRun.__dataclass_fields__ if f != "steps"]
_STEP_FIELDS = list(StepRecord.__dataclass_fields__)


def _run(row: Any) -> PipelineRun:
    return PipelineRun(**{f: getattr(row, f) for f in _RUN_FIELDS})


def _step(row: Any) -> StepRecord:
    return StepRecord(**{f: getattr(row, f) for f in _STEP_FIELDS})


@in_current_project
def create_pipeline_run(
    uow: UnitOfWork,
    run_id: str,
    *,
    pipeline: str,
    target: str,
    params: dict[str, Any],
    status: str = "running",
    no_cache: bool = False,
    executor: str = "local",
    trigger_id: str | None = None,
    cause: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    resumed_from: str | None = None,
    project_id: str = DEFAULT_PROJECT_ID,
) -> PipelineRun:
    """Record a pipeline run (``queued`` by a trigger, or ``running`` when started now)."""
    if status not in ACTIVE:
        raise ValidationFailed(f"a new pipeline run is queued or running, not {status!r}")
    now = now_ms()
    values = {
        "id": run_id,
        "project_id": project_id,
        "pipeline": pipeline,
        "target": target,
        "params": params,
        "status": status,
        "error": None,
        "no_cache": no_cache,
        "executor": executor,
        "trigger_id": trigger_id,
        "cause": cause,
        "dedup_key": dedup_key,
        "resumed_from": resumed_from,
        "created_by": str(uow.actor),
        "created_at": now,
        "started_at": now if status == "running" else None,
        "ended_at": None,
    }
    uow.conn.execute(pipeline_runs.insert().values(**values))
    summary = {k: values[k] for k in ("pipeline", "target", "params", "status", "trigger_id")}
    uow.audit("pipeline.run.create", "pipeline_run", run_id, summary)
    return get_pipeline_run(uow.conn, run_id, with_steps=False)


def start_pipeline_run(uow: UnitOfWork, run_id: str) -> None:
    """A queued run starts."""
    uow.conn.execute(
        pipeline_runs.update()
        .where(pipeline_runs.c.id == run_id)
        .values(status="running", started_at=now_ms())
    )
    uow.audit("pipeline.run.start", "pipeline_run", run_id, {"status": "running"})


def finish_pipeline_run(
    uow: UnitOfWork, run_id: str, status: str, error: str | None = None
) -> None:
    """Mark a run ``succeeded`` or ``failed``; its dedup key is released."""
    if status not in ("succeeded", "failed"):
        raise ValidationFailed(f"a pipeline run ends succeeded or failed, not {status!r}")
    uow.conn.execute(
        pipeline_runs.update()
        .where(pipeline_runs.c.id == run_id)
        .values(status=status, error=error, ended_at=now_ms(), dedup_key=None)
    )
    uow.audit("pipeline.run.finish", "pipeline_run", run_id, {"status": status, "error": error})


_INSERT_STEP = pipeline_steps.insert()
_CACHED = (
    sa.select(pipeline_steps)
    .where(
        pipeline_steps.c.step == sa.bindparam("step"),
        pipeline_steps.c.cache_key == sa.bindparam("cache_key"),
        pipeline_steps.c.status == "succeeded",
    )
    .order_by(pipeline_steps.c.ended_at.desc())
    .limit(1)
)


def record_step(uow: UnitOfWork, pipeline_run_id: str, record: StepRecord) -> None:
    """Store one step call (part of the pipeline run; the run's audit events cover it).

    Statements are built once and take their values as parameters: a cache hit is on the
    hot path, and building a statement per call costs more than executing it.
    """
    row = {"id": new_id(), "pipeline_run_id": pipeline_run_id, **asdict(record)}
    uow.conn.execute(_INSERT_STEP, row)


def cached_step(conn: sa.Connection, step: str, cache_key: str) -> StepRecord | None:
    """The latest successful call of ``step`` with this cache key."""
    row = conn.execute(_CACHED, {"step": step, "cache_key": cache_key}).first()
    return _step(row) if row is not None else None


def recent_steps(conn: sa.Connection, step: str, limit: int = 20) -> list[StepRecord]:
    """The latest calls of ``step`` that succeeded, newest first."""
    rows = conn.execute(
        sa.select(pipeline_steps)
        .where(pipeline_steps.c.step == step, pipeline_steps.c.status == "succeeded")
        .order_by(pipeline_steps.c.ended_at.desc())
        .limit(limit)
    )
    return [_step(r) for r in rows]


def list_steps(conn: sa.Connection, pipeline_run_id: str) -> list[StepRecord]:
    rows = conn.execute(
        sa.select(pipeline_steps)
        .where(pipeline_steps.c.pipeline_run_id == pipeline_run_id)
        .order_by(pipeline_steps.c.seq)
    )
    return [_step(r) for r in rows]


def get_pipeline_run(conn: sa.Connection, run_id: str, *, with_steps: bool = True) -> PipelineRun:
    row = conn.execute(
        sa.select(pipeline_runs).where(
            pipeline_runs.c.id == run_id, pipeline_runs.c.project_id == current_project_id()
        )
    ).first()
    if row is None:
        raise NotFound(f"no pipeline run {run_id!r}: `conveyor pipeline list` shows the runs")
    run = _run(row)
    if with_steps:
        run.steps = list_steps(conn, run_id)
    return run


@in_current_project
def list_pipeline_runs(
    conn: sa.Connection,
    *,
    pipeline: str | None = None,
    trigger_id: str | None = None,
    status: str | None = None,
    limit: Limit = 100,
    project_id: str = DEFAULT_PROJECT_ID,
) -> list[PipelineRun]:
    """Pipeline runs, newest first."""
    check_limit(limit)
    query = sa.select(pipeline_runs).where(pipeline_runs.c.project_id == project_id)
    if pipeline is not None:
        query = query.where(pipeline_runs.c.pipeline == pipeline)
    if trigger_id is not None:
        query = query.where(pipeline_runs.c.trigger_id == trigger_id)
    if status is not None:
        query = query.where(pipeline_runs.c.status == status)
    rows = conn.execute(query.order_by(pipeline_runs.c.created_at.desc()).limit(limit))
    return [_run(r) for r in rows]


def explain_pipeline_run(conn: sa.Connection, run_id: str) -> list[dict[str, str]]:
    """Per step of a pipeline run: ``{"step", "cache": "hit"|"miss", "reason"}``."""
    from conveyor.pipelines.explain import explain_rows

    get_pipeline_run(conn, run_id, with_steps=False)  # NotFound names an unknown run
    return explain_rows(list_steps(conn, run_id))
