"""Liveness: the server answers and can read its metadata store."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

import conveyor.errors
from conveyor.api._responses import OrjsonResponse
from conveyor.backend.local import LocalBackend

router = APIRouter(tags=["health"])


@router.get("/health", summary="Server health (answers without authentication)")
async def health(request: Request) -> OrjsonResponse:
    backend: LocalBackend = request.app.state.backend
    try:
        await run_in_threadpool(backend.list_experiments)
    except conveyor.errors.ConveyorError as exc:
        raise conveyor.errors.StoreUnavailable(
            f"the server is up but its metadata store is not: {exc.message}"
        ) from exc
    return OrjsonResponse(
        {"status": "ok", "backend": backend.kind, "version": conveyor.__version__}
    )
