"""Hand-written run routes: create, log-batch and end — the metric ingest hot path.

orjson straight from the body and explicit checks instead of pydantic models; the other
run operations are generated from the operation table (``conveyor.client.Client``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from conveyor._schema import JSON_INT_MAX, NAME_PATTERN
from conveyor.api._responses import EncodedJsonResponse, OrjsonResponse
from conveyor.api.auth import authorized
from conveyor.api.deps import ActingBackend, read_json
from conveyor.client import Client
from conveyor.errors import ValidationFailed
from conveyor.tracking.entities import RUN_STATUSES
from conveyor.tracking.metric_rows import MetricRows

router = APIRouter(prefix="/runs", tags=["runs"])


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body (these routes parse it by hand)."""
    body = {"type": "object", "additionalProperties": False, **schema}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}


# params and tags: names as check_name takes them; values are stored as text
_NAMED: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": NAME_PATTERN, "maxLength": 250},
}
_BATCH_PROPERTIES: dict[str, Any] = {
    "metrics": {
        "type": "object",
        "description": "Parallel columns of equal length; non-finite values as the strings "
        "'NaN', 'Infinity', '-Infinity'.",
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
    "params": _NAMED,
    "tags": _NAMED,
}
_LOG_BATCH_SCHEMA = _json_body({"properties": _BATCH_PROPERTIES})
_END_RUN_SCHEMA = _json_body(
    {
        "properties": {
            **_BATCH_PROPERTIES,
            "status": {"enum": list(RUN_STATUSES)},
            "end_time": {"type": "integer", "minimum": 0, "maximum": JSON_INT_MAX},
        }
    }
)


_CREATE_RUN_FIELDS: dict[str, Any] = {
    "experiment_id": str,
    "name": str,
    "parent_run_id": str,
    "tags": dict,
    "params": dict,
    "source": dict,
    "start_time": int,
}
_KIND_NAMES: dict[Any, str] = {str: "a string", dict: "an object", int: "an integer"}
_CREATE_RUN_SCHEMA = _json_body(
    {
        "required": ["experiment_id"],
        "properties": {
            "experiment_id": {"type": "string", "minLength": 1},
            "name": {"type": ["string", "null"], "pattern": NAME_PATTERN, "maxLength": 250},
            "parent_run_id": {"type": ["string", "null"], "minLength": 1},
            "tags": {**_NAMED, "type": ["object", "null"]},
            "params": {**_NAMED, "type": ["object", "null"]},
            "source": {"type": ["object", "null"]},
            "start_time": {"type": ["integer", "null"], "minimum": 0, "maximum": JSON_INT_MAX},
        },
    }
)


@router.post(
    "",
    dependencies=[Depends(authorized(Client.create_run))],
    status_code=201,
    summary="Create a run (with params and tags)",
    openapi_extra=_CREATE_RUN_SCHEMA,
)
async def create_run(request: Request, backend: ActingBackend) -> OrjsonResponse:
    # Hot path (one per run): orjson and explicit checks instead of a pydantic model.
    body = await read_json(request)
    fields = _create_run_fields(body)
    run = await run_in_threadpool(lambda: backend.create_run(**fields))
    return EncodedJsonResponse(run.to_dict(), status_code=201)


def _create_run_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("create-run body must be a JSON object with experiment_id")
    unknown = sorted(set(body) - set(_CREATE_RUN_FIELDS))
    if unknown:
        raise ValidationFailed(
            f"create-run body has unknown field(s) {unknown}; expected "
            f"{', '.join(_CREATE_RUN_FIELDS)}"
        )
    if "experiment_id" not in body:
        raise ValidationFailed("create-run body: field experiment_id is required")
    start = body.get("start_time")
    if isinstance(start, float) and start.is_integer():  # JSON Schema: 5.0 is an integer
        body = {**body, "start_time": int(start)}
    for name, kinds in _CREATE_RUN_FIELDS.items():
        value = body.get(name)
        if value is not None and not isinstance(value, kinds):
            raise ValidationFailed(
                f"create-run body: {name} must be {_KIND_NAMES[kinds]}, got {value!r:.60}"
            )
    start = body.get("start_time")
    if start is not None and (isinstance(start, bool) or not 0 <= start <= JSON_INT_MAX):
        raise ValidationFailed(f"create-run body: start_time must be epoch ms, got {start!r}")
    return dict(body)


@router.post(
    "/{run_id}/log-batch",
    dependencies=[Depends(authorized(Client.log_batch))],
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
    dependencies=[Depends(authorized(Client.end_run))],
    summary="End a run with a status, logging its final metrics/params/tags in the same "
    "transaction",
    openapi_extra=_END_RUN_SCHEMA,
)
async def end_run(run_id: str, request: Request, backend: ActingBackend) -> OrjsonResponse:
    metrics, params, tags, extra = _batch_from_body(
        await read_json(request), "end-run", ("status", "end_time")
    )
    status = extra.get("status", "FINISHED")
    end_time = extra.get("end_time")
    if isinstance(end_time, float) and end_time.is_integer():
        end_time = int(end_time)
    if not isinstance(status, str):
        raise ValidationFailed(f"status must be a string, got {status!r}")
    if end_time is not None and (type(end_time) is not int or not 0 <= end_time <= JSON_INT_MAX):
        raise ValidationFailed(f"end_time must be epoch milliseconds, got {end_time!r}")
    await run_in_threadpool(
        lambda: backend.end_run(run_id, status, end_time, metrics=metrics, params=params, tags=tags)
    )
    return OrjsonResponse({"run_id": run_id, "status": status})
