"""The metadata store: one SQLAlchemy engine, migrated on open, with read and write scopes.

SQLite (the embedded default) runs in WAL mode; every write transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy handler instead of failing
with "database is locked" when a read transaction tries to upgrade. PostgreSQL uses
ordinary transactions; ordering-sensitive writes take row locks.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from conveyor.errors import StoreUnavailable, ValidationFailed
from conveyor.governance.identity import Actor
from conveyor.store import timeouts
from conveyor.store.uow import UnitOfWork

__all__ = ["MetadataStore"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_SQLITE_BUSY_MS = 120_000
_PG_MIGRATION_LOCK = 0x636F6E76  # "conv"


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory(str(_MIGRATIONS)).get_current_head())


class MetadataStore:
    """Engine + migrations + transaction scopes for one database URL.

    Every statement is bounded by ``statement_timeout`` seconds (default: the
    ``statement_timeout_s`` setting; 0 means no bound); one that runs longer raises
    ``QueryTimeout``. Migrations run without the bound.
    """

    def __init__(
        self, url: str, *, migrate: bool = True, statement_timeout: float | None = None
    ) -> None:
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ValidationFailed(
                f"bad database URL {url!r}: expected e.g. sqlite:///path/conveyor.db or "
                "postgresql+psycopg://user@host:5432/db"
            ) from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if statement_timeout is None:
            from conveyor.config import get_settings

            statement_timeout = float(get_settings().statement_timeout_s)
        self.statement_timeout = statement_timeout
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self.engine = sa.create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=8,
                max_overflow=16,
                connect_args=timeouts.pg_connect_args(statement_timeout),
            )
        else:
            raise ValidationFailed(
                f"unsupported database {self.dialect!r}: use sqlite or postgresql"
            )
        timeouts.install(self.engine, self.dialect, seconds=statement_timeout)
        self._local = threading.local()
        if migrate:
            self.migrate()

    # -- engine set-up -------------------------------------------------------------------
    def _sqlite_engine(self, parsed: sa.URL) -> sa.Engine:
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get("conveyor_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    # -- migrations ----------------------------------------------------------------------
    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as raw, timeouts.untimed(raw) as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self) -> None:
        """Bring the schema to the latest revision; safe when many processes start at once."""
        head = _head_revision()
        try:
            if self.current_revision() == head:
                return
            with self._migration_lock():
                if self.current_revision() != head:
                    self._upgrade()
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable(
                f"cannot open the metadata store at {self.safe_url}: {exc.orig}. "
                "Check CONVEYOR_DB_URL / CONVEYOR_HOME and that the database is running."
            ) from exc

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect() as raw, timeouts.untimed(raw) as conn:
            if self.dialect == "sqlite":
                conn.commit()  # alembic manages its own transaction
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "sqlite":
            database = self.engine.url.database or ""
            if not database or database == ":memory:":
                yield
                return
            with open(Path(database).expanduser().with_suffix(".migrate.lock"), "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as raw, timeouts.untimed(raw) as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK}
                    )
                    conn.commit()

    # -- transaction scopes --------------------------------------------------------------
    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self, actor: Actor) -> Iterator[UnitOfWork]:
        """A write transaction as ``actor``; commits on success, rolls back on error.

        Nested calls on the same thread join the outer unit of work.
        """
        outer: UnitOfWork | None = getattr(self._local, "uow", None)
        if outer is not None:
            yield outer
            return
        try:
            conn = self.engine.connect().execution_options(conveyor_write=True)
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach the metadata store: {exc.orig}") from exc
        try:
            with conn.begin():
                uow = UnitOfWork(conn, actor)
                self._local.uow = uow
                try:
                    yield uow
                finally:
                    self._local.uow = None
        finally:
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()
