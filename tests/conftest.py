"""Shared fixtures: isolated CONVEYOR_HOME, metadata stores on SQLite and PostgreSQL.

PostgreSQL tests use a fresh database per test session on CONVEYOR_TEST_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test); they skip, saying why,
only when that server cannot be reached — and fail instead when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.artifacts import ArtifactStore
from conveyor.backend import reset_backends
from conveyor.config import reset_settings
from conveyor.store import MetadataStore
from conveyor.tracking import fluent

PG_ADMIN_URL = os.environ.get(
    "CONVEYOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def conveyor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own CONVEYOR_HOME and no inherited CONVEYOR_* settings."""
    for name in list(os.environ):
        if name.startswith("CONVEYOR_") and name != "CONVEYOR_TEST_PG_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    # Servers built in tests (create_app(), `conveyor server`) run without authentication,
    # loopback only, unless a test asks for tokens: create_app(backend, auth="tokens").
    monkeypatch.setenv("CONVEYOR_AUTH", "insecure-local")
    # `conveyor login` writes here, never to the developer's own credentials file.
    monkeypatch.setenv("CONVEYOR_CREDENTIALS_FILE", str(tmp_path / "credentials.json"))
    monkeypatch.chdir(tmp_path)
    reset_settings()
    yield home
    fluent.reset()
    reset_backends()
    reset_settings()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"conveyor_test_{uuid.uuid4().hex[:12]}"
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.orig}"
        if os.environ.get("CI", "").lower() == "true":  # CI must run them: fail, never skip
            pytest.fail(message + " (CI=true: PostgreSQL-backed tests must run)")
        pytest.skip(message)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


_pg_migrated: set[str] = set()


def _reset_pg(url: str) -> None:
    """Empty the test database: migrate once per session, then truncate between tests."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if url not in _pg_migrated:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        else:
            tables = [
                name
                for (name,) in conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            # the rows migration 0001 seeds
            conn.exec_driver_sql(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))"
            )
            conn.exec_driver_sql(
                "INSERT INTO projects (id, name, description, created_at) "
                "VALUES (repeat('0', 32), 'default', '', 0)"
            )
    engine.dispose()
    if url not in _pg_migrated:
        MetadataStore(url).dispose()
        _pg_migrated.add(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty metadata database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    url: str = request.getfixturevalue("pg_url")
    _reset_pg(url)
    return url


@pytest.fixture
def meta(db_url: str) -> Iterator[MetadataStore]:
    """A migrated metadata store on each backend."""
    store = MetadataStore(db_url)
    yield store
    store.dispose()


@pytest.fixture
def artifacts(tmp_path: Path) -> ArtifactStore:
    """A local content-addressed artifact store."""
    return ArtifactStore.from_uri(str(tmp_path / "artifacts"))


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Iterator[Any]:
    """An embedded backend on a fresh SQLite file and a local artifact folder."""
    from conveyor.backend import LocalBackend

    meta = MetadataStore(f"sqlite:///{tmp_path / 'backend.db'}")
    yield LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))
    meta.dispose()


@pytest.fixture
def api_server(sqlite_backend: Any) -> Iterator[tuple[str, Any]]:
    """A real API server on loopback over ``sqlite_backend``: (its URL, the backend)."""
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread

    with ServerThread(create_app(sqlite_backend)) as server:
        yield server.url, sqlite_backend
