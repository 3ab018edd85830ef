"""Every statement is bounded by the statement timeout, and a request's statements can be
cancelled from another thread; both answer QueryTimeout, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from conveyor.errors import QueryTimeout
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore
from conveyor.store.timeouts import cancellable, untimed


def _slow_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT pg_sleep(30)"
    # a few billion rows counted by a recursive CTE: minutes of CPU without the bound
    return (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) "
        "SELECT count(*) FROM c"
    )


@pytest.fixture
def quick(db_url: str) -> Iterator[MetadataStore]:
    store = MetadataStore(db_url, statement_timeout=0.3)
    yield store
    store.dispose()


def test_a_slow_query_stops_at_the_timeout_with_a_clear_error(quick: MetadataStore) -> None:
    start = time.monotonic()
    expected = r"statement timeout \(0.3 s\).*STATEMENT_TIMEOUT_S"
    with pytest.raises(QueryTimeout, match=expected), quick.read() as conn:
        conn.exec_driver_sql(_slow_sql(quick.dialect)).all()
    assert time.monotonic() - start < 5
    assert QueryTimeout.status == 503
    # the connection is usable afterwards, and quick statements are not affected
    for _ in range(3):
        with quick.read() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    with quick.write(Actor("t")) as uow:
        uow.audit("thing.create", "thing", "1")


def test_the_setting_is_the_default(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from conveyor.config import reset_settings

    monkeypatch.setenv("CONVEYOR_STATEMENT_TIMEOUT_S", "0.25")
    reset_settings()
    store = MetadataStore(db_url)
    try:
        assert store.statement_timeout == 0.25
        with pytest.raises(QueryTimeout, match=r"0.25 s"), store.read() as conn:
            conn.exec_driver_sql(_slow_sql(store.dialect)).all()
    finally:
        store.dispose()


def test_migrations_run_with_no_timeout(db_url: str) -> None:
    if db_url.startswith("sqlite"):  # every statement there runs past 1 µs
        store = MetadataStore(db_url, statement_timeout=0.000001)
        assert store.current_revision() is not None
        store.dispose()
    store = MetadataStore(db_url, statement_timeout=0.2)
    half_second = (
        "SELECT pg_sleep(0.6)"
        if store.dialect == "postgresql"
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT count(*) FROM c"
    )
    try:
        with store.engine.connect() as raw, untimed(raw) as conn:  # what migrations use
            start = time.monotonic()
            conn.exec_driver_sql(half_second).all()
            assert time.monotonic() - start > 0.2
        with pytest.raises(QueryTimeout), store.read() as conn:  # the pooled one is bounded again
            conn.exec_driver_sql(half_second).all()
    finally:
        store.dispose()


def _wait_until_running(store: MetadataStore) -> None:
    """PostgreSQL: until the server shows the statement active (SQLite checks the flag)."""
    if store.dialect != "postgresql":
        return
    deadline = time.monotonic() + 10
    probe = MetadataStore(store.url, migrate=False, statement_timeout=5)
    try:
        while time.monotonic() < deadline:
            with probe.read() as conn:
                active = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'"
                ).scalar()
            if active:
                return
        raise AssertionError("the slow statement never started")
    finally:
        probe.dispose()


def test_cancelling_first_refuses_the_statement(db_url: str) -> None:
    store = MetadataStore(db_url, statement_timeout=60)
    try:
        with cancellable() as scope:
            scope.cancel()
            with pytest.raises(QueryTimeout, match="disconnected"), store.read() as conn:
                conn.exec_driver_sql(_slow_sql(store.dialect)).all()
    finally:
        store.dispose()


def test_cancel_stops_the_running_query_from_another_thread(db_url: str) -> None:
    store = MetadataStore(db_url, statement_timeout=60)
    errors: list[BaseException] = []
    started = threading.Event()
    try:
        with cancellable() as scope:

            def run() -> None:
                try:
                    with store.read() as conn:
                        started.set()
                        conn.exec_driver_sql(_slow_sql(store.dialect)).all()
                except BaseException as exc:  # handed to the test thread
                    errors.append(exc)

            worker = threading.Thread(target=contextvars.copy_context().run, args=(run,))
            start = time.monotonic()
            worker.start()
            assert started.wait(10)
            _wait_until_running(store)
            scope.cancel()
            worker.join(10)
        assert not worker.is_alive()
        assert time.monotonic() - start < 10
        assert len(errors) == 1 and isinstance(errors[0], QueryTimeout)
        assert "client that asked for it disconnected" in str(errors[0])
        with store.read() as conn:  # the pooled connection is fine for the next request
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        store.dispose()
