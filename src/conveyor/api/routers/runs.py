"""Runs: create, get, log-batch (the metric ingest hot path), end, search, metric history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.deps import ActingBackend, read_json
from conveyor.api.routers._models import Body, Count, EpochMs, JsonMap
from conveyor.errors import ValidationFailed
from conveyor.tracking.entities import decode_float
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


class EndRun(Body):
    status: str = "FINISHED"
    end_time: EpochMs | None = None


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
    return OrjsonResponse(run.to_dict(), status_code=201)


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
    return OrjsonResponse({"runs": [r.to_dict() for r in runs]})


@router.get("/{run_id}", summary="Get a run with its params, latest metrics and tags")
async def get_run(run_id: str, backend: ActingBackend) -> OrjsonResponse:
    run = await run_in_threadpool(backend.get_run, run_id)
    return OrjsonResponse(run.to_dict())


@router.post(
    "/{run_id}/log-batch",
    summary="Log metrics (columnar), params and tags in one transaction",
    openapi_extra=_LOG_BATCH_SCHEMA,
)
async def log_batch(run_id: str, request: Request, backend: ActingBackend) -> OrjsonResponse:
    # Hot path: orjson straight from the body, columns validated once, no per-point models.
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed("log-batch body must be an object with metrics, params, tags")
    unknown = sorted(set(data) - {"metrics", "params", "tags"})
    if unknown:
        raise ValidationFailed(
            f"log-batch body has unknown field(s) {unknown}; expected metrics, params, tags"
        )
    raw_metrics = data.get("metrics")
    metrics = _rows_from_wire(raw_metrics) if raw_metrics is not None else None
    params, tags = data.get("params"), data.get("tags")
    for name, value in (("params", params), ("tags", tags)):
        if value is not None and not isinstance(value, dict):
            raise ValidationFailed(f"{name} must be an object of name to value")
    await run_in_threadpool(
        lambda: backend.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    )
    return OrjsonResponse({"points": len(metrics) if metrics is not None else 0})


def _rows_from_wire(data: Any) -> MetricRows:
    """Columns from the wire, checked for shape; values decoded from 'NaN'/'Infinity'.

    ``MetricRows.from_wire`` also runs ``validate()``, which ``LocalBackend.log_batch``
    runs again; at 10k points a batch, validating once is a third of the server's time.
    """
    if not isinstance(data, dict):
        raise ValidationFailed("metrics must be an object with keys, values, steps, timestamps")
    try:
        columns = [data[name] for name in ("keys", "values", "steps", "timestamps")]
    except KeyError as exc:
        raise ValidationFailed(f"metrics is missing the column {exc.args[0]!r}") from None
    if not all(type(c) is list for c in columns) or len({len(c) for c in columns}) != 1:
        raise ValidationFailed("metrics columns must be lists of equal length")
    keys, values, steps, timestamps = columns
    if any(type(v) is str for v in values):
        values = [_decode(v, i) if type(v) is str else v for i, v in enumerate(values)]
    return MetricRows(keys, values, steps, timestamps)


def _decode(value: str, index: int) -> float:
    try:
        return decode_float(value)
    except ValueError:
        raise ValidationFailed(
            f"metric value at point {index} must be a number, got {value!r}"
        ) from None


@router.post("/{run_id}/end", summary="End a run with a status")
async def end_run(run_id: str, body: EndRun, backend: ActingBackend) -> OrjsonResponse:
    await run_in_threadpool(backend.end_run, run_id, body.status, body.end_time)
    return OrjsonResponse({"run_id": run_id, "status": body.status})


@router.get("/{run_id}/metric-history", summary="Every logged point of one metric")
async def metric_history(run_id: str, key: str, backend: ActingBackend) -> OrjsonResponse:
    points = await run_in_threadpool(backend.get_metric_history, run_id, key)
    return OrjsonResponse({"points": [p.to_dict() for p in points]})
