"""Run artifacts as operations: stream a file into the content-addressed store and record
it on the run; read a blob's verified bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from conveyor.store.stores import Stores
from conveyor.tracking import service

__all__ = ["iter_blob", "upload_artifact"]


def upload_artifact(
    stores: Stores, run_id: str, path: str, stream: BinaryIO | Iterator[bytes]
) -> dict[str, Any]:
    """Store a stream as the run's artifact ``path``; returns path, sha256, size."""
    path = service.check_artifact_path(path)
    with stores.read() as conn:  # fail before storing bytes: unknown or ended run
        service.writable_run(conn, run_id, "artifacts", lock=False)
    info = stores.artifacts.put_stream(stream)
    with stores.write() as uow:
        service.record_artifact(uow, run_id, path, info.sha256, info.size)
    return {"path": path, "sha256": info.sha256, "size": info.size}


def iter_blob(stores: Stores, sha256: str) -> Iterator[bytes]:
    """The verified bytes of a stored blob (IntegrityError at the end if they do not hash
    back)."""
    return stores.iter_blob(sha256)
