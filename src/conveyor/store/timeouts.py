"""A time limit on every statement, and cancelling the statements of a request on demand.

PostgreSQL enforces ``statement_timeout`` itself (set per connection at connect). SQLite
has no such setting: a progress handler, called every few thousand VM instructions,
interrupts the statement once its deadline has passed (the deadline covers fetching the
rows too, since SQLite computes them as they are read); commit and rollback clear it.

Cancelling: code that serves a request may run ``with cancellable() as scope:``; every
statement run inside it (in this context, so also in the worker threads it starts with
``run_in_threadpool``) can be stopped from another thread with ``scope.cancel()`` —
SQLite statements see the flag in the progress handler, PostgreSQL ones get a cancel
request. Either way the caller gets :class:`~conveyor.errors.QueryTimeout`, not a raw
driver error.

Usage::

    install(engine, "sqlite", seconds=30.0)
    with cancellable() as scope:
        ...                      # another thread may call scope.cancel()
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from conveyor.errors import QueryTimeout

__all__ = ["CancelScope", "cancellable", "install", "pg_connect_args", "untimed"]

_SQLITE_CHECK_EVERY = 1_000  # VM instructions between deadline checks (~tens of µs)
_NO_TIMEOUT = "conveyor_no_timeout"  # execution option: migrations run untimed


class CancelScope:
    """The statements of one request; ``cancel()`` stops those running and any to come."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Any] = set()  # PostgreSQL DBAPI connections mid-transaction
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            running = list(self._running)
        for dbapi_conn in running:
            dbapi_conn.cancel_safe()

    def _enter(self, dbapi_conn: Any) -> None:
        with self._lock:
            if self.cancelled:
                raise _cancelled()
            self._running.add(dbapi_conn)

    def _leave(self, dbapi_conn: Any) -> None:
        with self._lock:
            self._running.discard(dbapi_conn)


_scope: contextvars.ContextVar[CancelScope | None] = contextvars.ContextVar(
    "conveyor_cancel_scope", default=None
)


@contextmanager
def cancellable() -> Iterator[CancelScope]:
    """Run the block's statements under a new :class:`CancelScope`."""
    scope = CancelScope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def pg_connect_args(seconds: float) -> dict[str, Any]:
    """psycopg connect arguments that set the server-side statement timeout."""
    if seconds <= 0:
        return {}
    return {"options": f"-c statement_timeout={max(1, round(seconds * 1000))}"}


@contextmanager
def untimed(conn: sa.Connection) -> Iterator[sa.Connection]:
    """``conn`` with no statement timeout for the block (schema migrations)."""
    timed = conn.execution_options(**{_NO_TIMEOUT: True})
    if conn.dialect.name != "postgresql":
        yield timed
        return
    timed.exec_driver_sql("SET statement_timeout = 0")
    timed.commit()
    try:
        yield timed
    finally:
        timed.rollback()
        timed.exec_driver_sql("RESET statement_timeout")
        timed.commit()


class _State:
    """Per-connection: when the current statement must stop, and its request's scope."""

    __slots__ = ("deadline", "scope")

    def __init__(self) -> None:
        self.deadline = float("inf")
        self.scope: CancelScope | None = None

    def expired(self) -> int:
        scope = self.scope
        return int(time.monotonic() > self.deadline or (scope is not None and scope.cancelled))


def install(engine: sa.Engine, dialect: str, *, seconds: float) -> None:
    """Bound every statement of ``engine`` to ``seconds`` (0: no bound) and make it cancellable."""
    sqlite = dialect == "sqlite"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        state = record.info["conveyor_timeout"] = _State()
        if sqlite:
            dbapi_conn.set_progress_handler(state.expired, _SQLITE_CHECK_EVERY)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn: sa.Connection, *_args: Any) -> None:
        state: _State = conn.connection.info["conveyor_timeout"]
        scope = _scope.get()
        if sqlite:
            untimed_conn = seconds <= 0 or conn.get_execution_options().get(_NO_TIMEOUT)
            state.deadline = float("inf") if untimed_conn else time.monotonic() + seconds
        elif scope is not None and state.scope is not scope:
            scope._enter(conn.connection.dbapi_connection)
        state.scope = scope

    def _clear(conn: sa.Connection) -> None:
        state: _State = conn.connection.info["conveyor_timeout"]
        state.deadline = float("inf")
        if state.scope is not None and not sqlite:
            state.scope._leave(conn.connection.dbapi_connection)
        state.scope = None

    event.listen(engine, "commit", _clear)
    event.listen(engine, "rollback", _clear)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: sa.engine.ExceptionContext) -> None:
        if not _is_stop(context.original_exception):
            return
        conn = context.connection
        state = conn.connection.info.get("conveyor_timeout") if conn is not None else None
        if state is not None and state.scope is not None and state.scope.cancelled:
            raise _cancelled() from context.original_exception
        raise QueryTimeout(
            f"the query ran longer than the statement timeout ({seconds:g} s) and was "
            "stopped; narrow it (fewer clauses, experiment_ids, a smaller max_results) or "
            "raise CONVEYOR_STATEMENT_TIMEOUT_S on the server",
            details={"timeout_s": seconds},
        ) from context.original_exception


def _cancelled() -> QueryTimeout:
    return QueryTimeout("query cancelled: the client that asked for it disconnected")


def _is_stop(exc: BaseException) -> bool:
    """SQLite's ``interrupted`` or PostgreSQL's query_canceled (SQLSTATE 57014)."""
    if getattr(exc, "sqlstate", None) == "57014":
        return True
    return type(exc).__name__ == "OperationalError" and str(exc) == "interrupted"
