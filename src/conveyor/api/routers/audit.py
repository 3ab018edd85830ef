"""The audit trail: list events, verify the hash chain."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.deps import ActingBackend

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/events", summary="Audit events in chain order, optionally filtered")
async def list_events(
    backend: ActingBackend,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    limit: int = Query(100, ge=1, le=10_000),
    after_seq: int = Query(0, ge=0, le=2**63 - 1),
    newest_first: bool = False,
) -> OrjsonResponse:
    filters = {"object_type": object_type, "object_id": object_id, "action": action}
    events = await run_in_threadpool(
        lambda: backend.list_audit_events(
            **{k: v for k, v in filters.items() if v is not None},
            limit=limit,
            after_seq=after_seq,
            newest_first=newest_first,
        )
    )
    return OrjsonResponse({"events": [e.to_dict() for e in events]})


@router.get("/verify", summary="Recompute the hash chain; report the first break")
async def verify(backend: ActingBackend) -> OrjsonResponse:
    report = await run_in_threadpool(backend.verify_audit_chain)
    return OrjsonResponse(asdict(report))
