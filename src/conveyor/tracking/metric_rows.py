"""Columnar metric batches and their bulk insert (the hot path of metric ingest).

A batch is four parallel lists (keys, values, steps, timestamps) rather than a list of
objects: it is what the SDK buffers, what travels over HTTP, and what the database
driver's bulk path consumes (``executemany`` on SQLite, ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from conveyor.errors import ValidationFailed
from conveyor.store.dialect import insert_for
from conveyor.store.tables import latest_metrics
from conveyor.tracking.entities import decode_float, encode_float
from conveyor.tracking.validation import check_key, check_point

__all__ = ["MetricRows", "insert_metric_rows", "upsert_latest"]


@dataclass
class MetricRows:
    """Parallel columns of metric points."""

    keys: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, key: str, value: float, step: int, timestamp: int) -> None:
        self.keys.append(key)
        self.values.append(value)
        self.steps.append(step)
        self.timestamps.append(timestamp)

    def extend(self, other: MetricRows) -> None:
        self.keys.extend(other.keys)
        self.values.extend(other.values)
        self.steps.extend(other.steps)
        self.timestamps.extend(other.timestamps)

    def to_wire(self) -> dict[str, list[Any]]:
        """JSON-safe columns; non-finite values become 'NaN' / 'Infinity' / '-Infinity'."""
        values = [v if math.isfinite(v) else encode_float(v) for v in self.values]
        return {
            "keys": self.keys,
            "values": values,
            "steps": self.steps,
            "timestamps": self.timestamps,
        }

    @classmethod
    def from_wire(cls, data: Any, *, validate: bool = True) -> MetricRows:
        """Columns received from a client, checked for shape; values decoded from
        'NaN' / 'Infinity'. ``validate=False`` skips the per-point checks for callers whose
        backend validates anyway (the server's ingest path), so each point is checked once.
        """
        if not isinstance(data, dict):
            raise ValidationFailed("metrics must be an object with keys, values, steps, timestamps")
        try:
            columns = [data[name] for name in ("keys", "values", "steps", "timestamps")]
        except KeyError as exc:
            raise ValidationFailed(f"metrics is missing the column {exc.args[0]!r}") from None
        if not all(type(c) is list for c in columns) or len({len(c) for c in columns}) != 1:
            raise ValidationFailed("metrics columns must be lists of equal length")
        keys, values, steps, timestamps = columns
        if any(type(v) is str for v in values):
            values = [_as_value(v, i) if type(v) is str else v for i, v in enumerate(values)]
        rows = cls(keys, values, steps, timestamps)
        if validate:
            rows.validate()
        return rows

    def validate(self) -> None:
        """Check key names, numeric values, integer steps and timestamps."""
        seen: set[str] = set()
        for i, key in enumerate(self.keys):
            if key not in seen:
                check_key(key, "metric key")
                seen.add(key)
            check_point(key, self.values[i], self.steps[i], self.timestamps[i])

    def summary(self) -> dict[str, Any]:
        """What the audit event records about the batch."""
        return {
            "points": len(self),
            "keys": sorted(set(self.keys)),
            "steps": [min(self.steps), max(self.steps)] if self.steps else [],
        }

    def latest(self) -> dict[str, tuple[float, int, int]]:
        """Per key, the point with the highest (step, timestamp)."""
        best: dict[str, tuple[float, int, int]] = {}
        for key, value, step, ts in zip(
            self.keys, self.values, self.steps, self.timestamps, strict=True
        ):
            cur = best.get(key)
            if cur is None or (step, ts) >= (cur[1], cur[2]):
                best[key] = (value, step, ts)
        return best


def _as_value(value: str, index: int) -> float:
    try:
        return decode_float(value)
    except ValueError:
        raise ValidationFailed(
            f"metric value at point {index} must be a number, got {value!r}"
        ) from None


def _db_value(value: float) -> float | None:
    return None if value != value else float(value)  # NaN -> NULL


def insert_metric_rows(conn: sa.Connection, run_id: str, rows: MetricRows) -> None:
    """Append the points to the metric history with the driver's bulk path."""
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cur,
            cur.copy("COPY metrics (run_id, key, step, timestamp, value) FROM STDIN") as copy,
        ):
            for key, value, step, ts in zip(
                rows.keys, rows.values, rows.steps, rows.timestamps, strict=True
            ):
                copy.write_row((run_id, key, step, ts, _db_value(value)))
        return
    cur = raw.cursor()
    try:
        cur.executemany(
            "INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)",
            [
                (run_id, key, step, ts, _db_value(value))
                for key, value, step, ts in zip(
                    rows.keys, rows.values, rows.steps, rows.timestamps, strict=True
                )
            ],
        )
    finally:
        cur.close()


_UPSERTS: dict[str, Any] = {}


def _upsert_statement(conn: sa.Connection) -> Any:
    """The latest-metric upsert for the connection's dialect, built once per dialect."""
    stmt = _UPSERTS.get(conn.dialect.name)
    if stmt is None:
        insert = insert_for(conn, latest_metrics)
        excluded = insert.excluded
        stmt = _UPSERTS[conn.dialect.name] = insert.on_conflict_do_update(
            index_elements=[latest_metrics.c.run_id, latest_metrics.c.key],
            set_={"value": excluded.value, "step": excluded.step, "timestamp": excluded.timestamp},
            where=sa.or_(
                excluded.step > latest_metrics.c.step,
                sa.and_(
                    excluded.step == latest_metrics.c.step,
                    excluded.timestamp >= latest_metrics.c.timestamp,
                ),
            ),
        )
    return stmt


def upsert_latest(conn: sa.Connection, run_id: str, rows: MetricRows) -> None:
    """Keep ``latest_metrics`` at each key's highest (step, timestamp) point."""
    values = [
        {"run_id": run_id, "key": k, "value": _db_value(v), "step": s, "timestamp": t}
        for k, (v, s, t) in rows.latest().items()
    ]
    conn.execute(_upsert_statement(conn), values)
