"""Plain helpers for the deployments tests (fixtures live in conftest)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pandas as pd

import conveyor
from conveyor.artifacts import ArtifactStore

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def log_and_register(model: Any, name: str, example: pd.DataFrame | None) -> int:
    """Log ``model`` with the SDK (embedded store under CONVEYOR_HOME) and register it."""
    with conveyor.start_run():
        info = conveyor.log_model(model, "model", input_example=example, registered_model_name=name)
    assert info.registered_version is not None
    return int(info.registered_version.version)


def corrupt_blob(store: ArtifactStore, sha256: str) -> Path:
    """Flip bytes of a stored blob in place (as disk rot or tampering would)."""
    path = Path(store.backend.root) / store.key(sha256)  # type: ignore[attr-defined]
    corrupt_file(path)
    return path


def corrupt_file(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    for i in range(0, len(data), max(1, len(data) // 16)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def records(frame: pd.DataFrame) -> list[dict[str, float]]:
    return [{str(k): float(v) for k, v in row.items()} for row in frame.to_dict("records")]


@asynccontextmanager
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` in-process (its startup/shutdown around the block) behind an httpx client."""
    await app.startup()
    try:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
    finally:
        await app.shutdown()
