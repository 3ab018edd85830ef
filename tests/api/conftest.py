"""An API server over a fresh SQLite store, and a raw httpx client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.artifacts import ArtifactStore
from conveyor.backend import LocalBackend
from conveyor.store import MetadataStore


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalBackend]:
    meta = MetadataStore(f"sqlite:///{tmp_path / 'api.db'}")
    yield LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))
    meta.dispose()


@pytest.fixture
def app(local: LocalBackend) -> FastAPI:
    return create_app(local)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
