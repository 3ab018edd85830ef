"""Run artifacts and blobs, streamed both ways with bounded memory.

Upload: the request body is pulled chunk by chunk from the event loop into a worker
thread running the ``upload_artifact`` operation (hash while writing a staging file, then
commit into the content-addressed store and record) — the whole body is never in memory.
Download: the verified chunks of the blob are streamed; the sha256 is sent up front in
``X-Conveyor-Sha256`` (and the size in ``X-Conveyor-Size``) so clients verify what they
got. The body is chunked: if the stored bytes turn out corrupted (known only at the end),
the server logs it and closes the connection without the final chunk, so every client
sees an incomplete response rather than a clean one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from conveyor._schema import SHA256_PATTERN
from conveyor.api._errors import StreamAborted
from conveyor.api._responses import OrjsonResponse
from conveyor.api.auth import authorized
from conveyor.api.deps import ActingBackend
from conveyor.backend.local import LocalBackend
from conveyor.client import Client
from conveyor.client._streaming import SHA256_HEADER, SIZE_HEADER
from conveyor.errors import IntegrityError

router = APIRouter(tags=["artifacts"])


def _pull(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """A blocking iterator (for a worker thread) over an async byte stream."""

    async def _next() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(_next)) is not None:
        if chunk:
            yield chunk


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    dependencies=[Depends(authorized(Client.upload_artifact))],
    summary="Upload (stream) one artifact file of a run",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def upload_artifact(
    run_id: str, path: str, request: Request, backend: ActingBackend
) -> OrjsonResponse:
    await run_in_threadpool(backend.get_run, run_id)  # 404 before reading any bytes
    chunks = _pull(request.stream())
    info = await anyio.to_thread.run_sync(backend.upload_artifact, run_id, path, chunks)
    return OrjsonResponse(info, status_code=201)


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    summary="Download (stream) one artifact",
    dependencies=[Depends(authorized(Client.list_artifacts))],
)
async def download_artifact(run_id: str, path: str, backend: ActingBackend) -> StreamingResponse:
    entry = await run_in_threadpool(backend.artifact_entry, run_id, path)
    return await _stream_blob(backend, entry["sha256"], filename=entry["path"].rsplit("/")[-1])


@router.get(
    "/blobs/{sha256}",
    summary="Download (stream) a blob by its sha256",
    dependencies=[Depends(authorized(Client.iter_blob))],
)
async def download_blob(
    sha256: Annotated[str, Path(json_schema_extra={"pattern": SHA256_PATTERN})],
    backend: ActingBackend,
) -> StreamingResponse:
    return await _stream_blob(backend, sha256)


async def _stream_blob(
    backend: LocalBackend, sha256: str, filename: str | None = None
) -> StreamingResponse:
    size = await run_in_threadpool(backend.artifacts.size, sha256)  # NotFound / bad sha first
    chunks = backend.iter_blob(sha256)

    def verified() -> Iterator[bytes]:
        try:
            yield from chunks
        except IntegrityError as exc:
            raise StreamAborted(f"serving blob {sha256}: {exc.message}") from exc

    # No Content-Length: the body is chunked, so cutting it short is visible to any client.
    headers = {SHA256_HEADER: sha256, SIZE_HEADER: str(size)}
    if filename:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(verified(), media_type="application/octet-stream", headers=headers)
