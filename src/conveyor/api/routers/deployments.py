"""Deployments: deploy (a new revision, compiled here), roll back, list and show endpoints.

Every route calls the ``LocalBackend`` acting as the request's actor, which runs the
deployment services (``conveyor.deployments``): a deploy or rollback writes its revision and
its audit events in one transaction. Deploy-time ONNX compilation runs on the server, off
the event loop. The name is a ``path`` parameter (so a name with '/' reaches the service and
gets its clear refusal instead of a bare 404), and the more specific routes are declared
before the bare name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.deps import ActingBackend
from conveyor.api.routers._models import INT64_MAX, Body
from conveyor.errors import ValidationFailed

router = APIRouter(prefix="/deployments", tags=["deployments"])

#: One model reference (``churn@champion``, ``churn/3:10``) or several.
Refs = str | list[str] | None
#: A positive integer the database can hold (revision numbers, deadlines).
PositiveInt64 = Annotated[int, Field(ge=1, le=INT64_MAX)]


class Deploy(Body):
    model: str | None = Field(None, description="Primary: <name>@<alias>, <name>/<version>.")
    canary: Refs = Field(None, description="Canary routes <name>/<version>:<weight>.")
    shadow: Refs = Field(None, description="Shadow routes <name>/<version>.")
    ab: Refs = Field(None, description="A/B routes <name>/<version>:<weight>.")
    ab_key: str | None = Field(None, description="Sticky A/B key: a header or field:<name>.")
    fallback: str | None = Field(None, description="Fallback model <name>/<version>.")
    deadline_ms: PositiveInt64 | None = Field(
        None, description="Answer from the fallback after this many milliseconds."
    )
    description: str = ""
    compile: bool = Field(True, description="Compile versions to ONNX (false: pending).")
    validation_data: list[dict[str, Any]] | None = Field(
        None, description="Rows (JSON records) for the ONNX parity check."
    )
    override_reason: str | None = Field(
        None, description="Deploy a primary model whose gates did not pass (audited)."
    )


class Rollback(Body):
    to_revision: PositiveInt64 | None = None


def _frame(rows: list[dict[str, Any]] | None) -> Any:
    if rows is None:
        return None
    if not rows:
        raise ValidationFailed("validation_data has no rows; send at least one record or omit it")
    import pandas as pd

    return pd.DataFrame.from_records(rows)


def _revision_number(ref: str) -> int | None:
    """A revision path segment: a number, or 'current' (None)."""
    if ref == "current":
        return None
    if ref.isdigit() and 0 < int(ref) <= INT64_MAX:
        return int(ref)
    raise ValidationFailed(f"revision must be a number ≥ 1 or 'current', got {ref!r}")


@router.get("", summary="List endpoints, each with its current revision")
async def list_deployments(backend: ActingBackend) -> OrjsonResponse:
    found = await run_in_threadpool(backend.list_deployments)
    return OrjsonResponse({"deployments": [d.to_dict() for d in found]})


@router.post(
    "/{endpoint:path}/revisions",
    status_code=201,
    summary="Deploy: compile the versions (ONNX when parity holds), write a new revision",
)
async def deploy(endpoint: str, body: Deploy, backend: ActingBackend) -> OrjsonResponse:
    def run() -> Any:
        return backend.deploy(
            endpoint,
            model=body.model,
            canary=body.canary,
            shadow=body.shadow,
            ab=body.ab,
            ab_key=body.ab_key,
            fallback=body.fallback,
            deadline_ms=body.deadline_ms,
            description=body.description,
            compile=body.compile,
            validation_data=_frame(body.validation_data),
            override_reason=body.override_reason,
        )

    revision = await run_in_threadpool(run)
    return OrjsonResponse(revision.to_dict(), status_code=201)


@router.get("/{endpoint:path}/revisions", summary="List an endpoint's revisions, newest first")
async def list_revisions(endpoint: str, backend: ActingBackend) -> OrjsonResponse:
    revisions = await run_in_threadpool(backend.list_revisions, endpoint)
    return OrjsonResponse({"revisions": [r.to_dict() for r in revisions]})


@router.get(
    "/{endpoint:path}/revisions/{revision}", summary="Get a revision by number (or 'current')"
)
async def get_revision(endpoint: str, revision: str, backend: ActingBackend) -> OrjsonResponse:
    found = await run_in_threadpool(backend.get_revision, endpoint, _revision_number(revision))
    return OrjsonResponse(found.to_dict())


@router.post(
    "/{endpoint:path}/rollback",
    status_code=201,
    summary="Restore the previous revision (or to_revision) as a new revision",
)
async def rollback(
    endpoint: str, backend: ActingBackend, body: Rollback | None = None
) -> OrjsonResponse:
    to_revision = body.to_revision if body is not None else None
    revision = await run_in_threadpool(lambda: backend.rollback(endpoint, to_revision=to_revision))
    return OrjsonResponse(revision.to_dict(), status_code=201)


@router.get("/{endpoint:path}", summary="Get an endpoint with its current revision")
async def get_deployment(endpoint: str, backend: ActingBackend) -> OrjsonResponse:
    found = await run_in_threadpool(backend.get_deployment, endpoint)
    return OrjsonResponse(found.to_dict())
