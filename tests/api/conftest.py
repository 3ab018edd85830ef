"""An API server over a fresh SQLite store, and a raw httpx client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import LocalBackend


@pytest.fixture
def local(sqlite_backend: LocalBackend) -> LocalBackend:
    return sqlite_backend


@pytest.fixture
def app(local: LocalBackend) -> FastAPI:
    return create_app(local)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c
