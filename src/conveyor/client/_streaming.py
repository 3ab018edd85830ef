"""The HTTP transport's hand-written calls: what a JSON body cannot carry.

Each is named by its ``Op(..., http=...)`` in the table: artifacts stream both ways with
bounded memory (downloaded bytes verified against their sha256 here too), and a dataset
travels as a Parquet file in a multipart upload.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

import httpx
import orjson

from conveyor.client.http import HttpTransport, path_segment
from conveyor.client.wire import decode, json_dumps
from conveyor.errors import IntegrityError, StoreUnavailable

if TYPE_CHECKING:
    from conveyor.data.entities import DatasetVersion

__all__ = ["SHA256_HEADER", "SIZE_HEADER", "iter_blob", "log_dataset", "upload_artifact"]

SHA256_HEADER = "X-Conveyor-Sha256"
SIZE_HEADER = "X-Conveyor-Size"
CHUNK = 1 << 20


def upload_artifact(
    http: HttpTransport, run_id: str, path: str, stream: BinaryIO | Iterator[bytes]
) -> dict[str, Any]:
    """Stream ``stream`` (a binary file object or an iterator of bytes) to the server."""
    from conveyor.tracking.service import check_artifact_path

    path = check_artifact_path(path)
    chunks: Iterator[bytes]
    if hasattr(stream, "read"):
        reader: Any = stream
        chunks = iter(lambda: reader.read(CHUNK), b"")
    else:
        chunks = iter(stream)
    url = f"/runs/{path_segment(run_id, 'run id')}/artifacts/{quote(path, safe='/')}"
    try:
        response = http.client.put(
            url, content=chunks, headers={"Content-Type": "application/octet-stream"}
        )
    except httpx.TransportError as exc:
        raise http.unavailable(exc) from exc
    http.raise_for(response)
    return dict(orjson.loads(response.content))


def iter_blob(http: HttpTransport, sha256: str) -> Iterator[bytes]:
    """The bytes of a stored blob, verified against ``sha256`` as they arrive.

    Raises IntegrityError at the end when they do not hash back (as the local store
    does), StoreUnavailable when the download is cut short.
    """
    url = f"/blobs/{path_segment(sha256, 'sha256')}"
    hasher, received, expected = hashlib.sha256(), 0, -1
    try:
        with http.client.stream("GET", url) as response:
            if response.status_code >= 400:
                response.read()
                http.raise_for(response)
            expected = int(response.headers.get(SIZE_HEADER, -1))
            try:
                for chunk in response.iter_bytes():
                    hasher.update(chunk)
                    received += len(chunk)
                    yield chunk
            except httpx.TransportError:
                # The server cuts the response short when the stored bytes fail their
                # check at the end; with every byte here, the hash below says so.
                if received != expected:
                    raise
    except httpx.TransportError as exc:
        if 0 <= received < expected or (expected >= 0 and received > expected):
            raise StoreUnavailable(
                f"download of blob {sha256} from {http.url} was cut short after "
                f"{received} of {expected} bytes; try again",
                details={"sha256": sha256, "received": received, "expected": expected},
            ) from exc
        raise http.unavailable(exc) from exc
    actual = hasher.hexdigest()
    if actual != sha256:
        raise IntegrityError(
            f"artifact blob {sha256} is corrupted: its bytes hash to {actual}. "
            "Restore it from a backup or log the artifact again.",
            details={"expected": sha256, "actual": actual},
        )


def log_dataset(
    http: HttpTransport,
    name: str,
    data: Any,
    *,
    description: str = "",
    source: str = "",
    expectations: Any = None,
    run_id: str | None = None,
    context: str = "training",
) -> DatasetVersion:
    """Upload ``data`` as a version of ``name``: converted to Parquet here, hashed,
    checked and profiled by the server like the embedded store does."""
    from conveyor.data.checks import CheckSuite
    from conveyor.data.entities import DatasetVersion
    from conveyor.data.frames import to_table, write_parquet

    url = f"/datasets/{path_segment(name, 'dataset name', keep_slash=True)}/versions"
    table = to_table(data)
    form: dict[str, str] = {"description": description, "source": source, "context": context}
    if run_id is not None:
        form["run_id"] = run_id
    if expectations is not None:
        suite = (
            expectations
            if isinstance(expectations, CheckSuite)
            else CheckSuite.from_dict(expectations)
            if isinstance(expectations, dict)
            else CheckSuite(expectations)
        )
        form["expectations"] = json_dumps(suite.to_dict()).decode()
    with tempfile.TemporaryDirectory(prefix="conveyor-upload-") as tmp:
        path = write_parquet(table, Path(tmp) / "data.parquet")
        with open(path, "rb") as fh:
            files = {"data": ("data.parquet", fh, "application/vnd.apache.parquet")}
            try:
                response = http.client.post(url, data=form, files=files)
            except httpx.TransportError as exc:
                raise http.unavailable(exc) from exc
    http.raise_for(response)
    result: DatasetVersion = decode(DatasetVersion, orjson.loads(response.content))
    return result
