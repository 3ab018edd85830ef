"""The embedded online store: one SQLite table (WAL), upserts that keep the newest value."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from conveyor.errors import StoreUnavailable
from conveyor.features.online.base import OnlineStore

__all__ = ["SQLiteOnlineStore"]

_CHUNK = 5_000  # (view, key) pairs per statement, under SQLite's bound-variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_features (
    project TEXT NOT NULL, view TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (project, view, key)
) WITHOUT ROWID
"""

_UPSERT = """
INSERT INTO online_features (project, view, key, value) VALUES (?, ?, ?, ?)
ON CONFLICT (project, view, key) DO UPDATE SET value = excluded.value
WHERE substr(excluded.value, 1, 16) >= substr(online_features.value, 1, 16)
"""


class SQLiteOnlineStore(OnlineStore):
    """``sqlite:///path/online.db``; safe across threads (one connection, one lock)."""

    def __init__(self, url: str, timeout_s: float, project: str) -> None:
        self.url = url
        self.project = project
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                path, timeout=max(timeout_s, 0.05), check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"online store {url}: {exc}") from exc
        self._lock = threading.Lock()

    def write(self, view: str, rows: Iterable[tuple[bytes, bytes]]) -> int:
        taken = [(self.project, view, key, value) for key, value in rows]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_UPSERT, taken)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(taken)

    def read(self, keys: Sequence[tuple[str, bytes]]) -> list[bytes | None]:
        found: dict[tuple[str, bytes], bytes] = {}
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ", ".join("(?, ?)" for _ in chunk)
                args = [self.project] + [part for pair in chunk for part in pair]
                rows = self._db.execute(
                    "SELECT view, key, value FROM online_features WHERE project = ? AND "
                    f"(view, key) IN (VALUES {marks})",
                    args,
                )
                found.update(((v, k), value) for v, k, value in rows)
        return [found.get(pair) for pair in keys]

    def clear(self, view: str | None = None) -> None:
        with self._lock:
            if view is None:
                self._db.execute("DELETE FROM online_features WHERE project = ?", (self.project,))
            else:
                self._db.execute(
                    "DELETE FROM online_features WHERE project = ? AND view = ?",
                    (self.project, view),
                )

    def close(self) -> None:
        self._db.close()
