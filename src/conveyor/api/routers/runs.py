"""Runs: create, get, log-batch (the metric ingest hot path), end, search, metric history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import EncodedJsonResponse, OrjsonResponse
from conveyor.api.deps import ActingBackend, read_json
from conveyor.api.routers._models import Body, Count, EpochMs, JsonMap
from conveyor.errors import ValidationFailed
from conveyor.tracking.metric_rows import MetricRows

router = APIRouter(prefix="/runs", tags=["runs"])


class CreateRun(Body):
    experiment_id: str
    name: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] | None = None
    params: JsonMap = None
    source: JsonMap = None
    start_time: EpochMs | None = None


class SearchRuns(Body):
    experiment_ids: list[str] | None = None
    filter: str | None = None
    order_by: list[str] | str | None = None
    max_results: Count = 1000
    offset: Count = 0


_LOG_BATCH_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "metrics": {
                            "type": "object",
                            "description": "Parallel columns; non-finite values as the "
                            "strings 'NaN', 'Infinity', '-Infinity'.",
                            "properties": {
                                "keys": {"type": "array", "items": {"type": "string"}},
                                "values": {
                                    "type": "array",
                                    "items": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                                },
                                "steps": {"type": "array", "items": {"type": "integer"}},
                                "timestamps": {"type": "array", "items": {"type": "integer"}},
                            },
                            "required": ["keys", "values", "steps", "timestamps"],
                        },
                        "params": {"type": "object"},
                        "tags": {"type": "object"},
                    },
                }
            }
        },
    }
}


@router.post("", status_code=201, summary="Create a run (with params and tags)")
async def create_run(body: CreateRun, backend: ActingBackend) -> OrjsonResponse:
    run = await run_in_threadpool(
        lambda: backend.create_run(
            body.experiment_id,
            name=body.name,
            parent_run_id=body.parent_run_id,
            tags=body.tags,
            params=body.params,
            source=body.source,
            start_time=body.start_time,
        )
    )
    return EncodedJsonResponse(run.to_dict(), status_code=201)


@router.post("/search", summary="Search runs with a filter and ordering")
async def search_runs(body: SearchRuns, backend: ActingBackend) -> OrjsonResponse:
    runs = await run_in_threadpool(
        backend.search_runs,
        body.experiment_ids,
        body.filter,
        [body.order_by] if isinstance(body.order_by, str) else body.order_by,
        body.max_results,
        body.offset,
    )
    return EncodedJsonResponse({"runs": [r.to_dict() for r in runs]})


@router.get("/{run_id}", summary="Get a run with its params, latest metrics and tags")
async def get_run(run_id: str, backend: ActingBackend) -> OrjsonResponse:
    run = await run_in_threadpool(backend.get_run, run_id)
    return EncodedJsonResponse(run.to_dict())


@router.post(
    "/{run_id}/log-batch",
    summary="Log metrics (columnar), params and tags in one transaction",
    openapi_extra=_LOG_BATCH_SCHEMA,
)
async def log_batch(run_id: str, request: Request, backend: ActingBackend) -> OrjsonResponse:
    # Hot path: orjson straight from the body, columns validated once, no per-point models.
    metrics, params, tags, _ = _batch_from_body(await read_json(request), "log-batch")
    await run_in_threadpool(
        lambda: backend.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    )
    return OrjsonResponse({"points": len(metrics) if metrics is not None else 0})


def _batch_from_body(
    data: Any, what: str, extra: tuple[str, ...] = ()
) -> tuple[MetricRows | None, dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]:
    """Metrics (columnar), params and tags of a body, plus the ``extra`` fields named.

    Metric points are validated by the backend (once), not here.
    """
    if not isinstance(data, dict):
        raise ValidationFailed(f"{what} body must be an object (JSON) with metrics, params, tags")
    allowed = {"metrics", "params", "tags", *extra}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            f"{what} body has unknown field(s) {unknown}; expected {', '.join(sorted(allowed))}"
        )
    raw = data.get("metrics")
    metrics = MetricRows.from_wire(raw, validate=False) if raw is not None else None
    params, tags = data.get("params"), data.get("tags")
    for name, value in (("params", params), ("tags", tags)):
        if value is not None and not isinstance(value, dict):
            raise ValidationFailed(f"{name} must be an object of name to value")
    return metrics, params, tags, {k: data[k] for k in extra if k in data}


@router.post(
    "/{run_id}/end",
    summary="End a run with a status, logging its final metrics/params/tags in the same "
    "transaction",
)
async def end_run(run_id: str, request: Request, backend: ActingBackend) -> OrjsonResponse:
    metrics, params, tags, extra = _batch_from_body(
        await read_json(request), "end-run", ("status", "end_time")
    )
    status = extra.get("status", "FINISHED")
    end_time = extra.get("end_time")
    if not isinstance(status, str):
        raise ValidationFailed(f"status must be a string, got {status!r}")
    if end_time is not None and (type(end_time) is not int or not 0 <= end_time < 2**63):
        raise ValidationFailed(f"end_time must be epoch milliseconds, got {end_time!r}")
    await run_in_threadpool(
        lambda: backend.end_run(run_id, status, end_time, metrics=metrics, params=params, tags=tags)
    )
    return OrjsonResponse({"run_id": run_id, "status": status})


@router.get("/{run_id}/metric-history", summary="Every logged point of one metric")
async def metric_history(run_id: str, key: str, backend: ActingBackend) -> OrjsonResponse:
    points = await run_in_threadpool(backend.get_metric_history, run_id, key)
    return EncodedJsonResponse({"points": [p.to_dict() for p in points]})
