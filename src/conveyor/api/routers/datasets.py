"""Hand-written dataset route: log a version (Parquet upload). The other dataset
operations are generated from the operation table.

A version is uploaded as multipart/form-data: the ``data`` part is a Parquet file (the
client converts DataFrames, Arrow tables and CSV files first), the other parts are plain
form fields; ``expectations`` is the JSON of a check suite. The file part is spooled to
disk by the multipart parser, so memory stays bounded while it arrives.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from conveyor.api._responses import OrjsonResponse
from conveyor.api.auth import authorized
from conveyor.api.deps import ActingBackend
from conveyor.client import Client
from conveyor.errors import MalformedRequest, ValidationFailed

router = APIRouter(tags=["datasets"])


def _expectations(raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(f"expectations must be JSON ({exc})") from None


def _read_table(upload: UploadFile) -> pa.Table:
    try:
        return pq.read_table(upload.file)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationFailed(f"the data part is not a readable Parquet file: {exc}") from exc


@router.post(
    "/datasets/{name:path}/versions",
    dependencies=[Depends(authorized(Client.log_dataset))],
    status_code=201,
    summary="Log a dataset version (the same content returns the existing version)",
)
async def log_dataset(
    name: str,
    backend: ActingBackend,
    data: Annotated[UploadFile, File(description="The rows as a Parquet file")],
    description: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    expectations: Annotated[str | None, Form(description="Check suite JSON")] = None,
    run_id: Annotated[str | None, Form()] = None,
    context: Annotated[str, Form()] = "training",
) -> OrjsonResponse:
    suite = _expectations(expectations)

    def log() -> Any:
        return backend.log_dataset(
            name,
            _read_table(data),
            description=description,
            source=source,
            expectations=suite,
            run_id=run_id or None,
            context=context,
        )

    try:
        version = await run_in_threadpool(log)
    finally:
        await data.close()
    return OrjsonResponse(version.to_dict(), status_code=201)
