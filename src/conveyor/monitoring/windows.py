"""Time windows over the prediction log, read with DuckDB, joined with feedback.

The serving runtime writes (see ``conveyor.serving.prediction_log``)::

    <log_uri>/predictions/endpoint=<name>/date=YYYY-MM-DD/part-*.parquet
    <log_uri>/feedback/endpoint=<name>/date=YYYY-MM-DD/part-*.parquet

:func:`read_window` lists only the ``date=`` folders the window touches, lets DuckDB read
those files (``hive_partitioning``, ``union_by_name`` — input columns may differ between
model versions) and returns an Arrow table of the window's served predictions with the
latest label of each prediction (``label``, ``label_num``, ``label_ts``) left-joined by
``prediction_id``. Shadow rows (``shadow_of`` set) are left out unless
``include_shadow=True``; they are joined to the label of the prediction they shadowed.

Class probabilities: when any file of the window has the ``proba`` column
(``list<double>``, the served model's class probabilities in its class order), the table
has it too, null for the rows of files written without it (``union_by_name``); when no
file has it, neither does the table. It stays Arrow (no per-row decoding here).

Failed requests: the serving runtime logs a request it answered with an error (4xx
after the endpoint was known, 5xx) as one row with its ``status`` and ``error``; answered
rows have ``status`` 200. :func:`read_window` keeps those rows out of ``table`` (so drift,
quality, performance and business value see only served predictions) and returns them
as ``WindowData.failures``: None when no file of the window has a ``status`` column
(written before failures were logged: errors unknown), else the failed requests (possibly
none), ordered by time.

An empty window is not an error: :class:`WindowData` says ``status="insufficient_data"``
and why, and every consumer (performance, business, operational, monitors) passes that on.

::

    data = read_window("churn", Window.last("1h"))
    data.status, data.num_rows, data.label_coverage
    data.inputs()          # input_<col> columns renamed back to <col>, for drift
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from conveyor._util import now_ms, parse_duration, to_iso, utc_date
from conveyor.errors import NotFound, ValidationFailed

__all__ = [
    "Window",
    "WindowData",
    "WindowStatus",
    "default_log_uri",
    "instant_ms",
    "parse_duration",
    "read_window",
    "reference_for",
    "require_endpoint",
]

WindowStatus = Literal["ok", "insufficient_data"]

_DAY_MS = 86_400_000


def _to_ms(value: datetime | int | float | str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationFailed(f"bad time {value!r}: use ISO-8601 or epoch ms") from exc
        return _to_ms(parsed)
    return int(value)


def instant_ms(now: datetime | int | None) -> int:
    """``now`` (datetime, naive meaning UTC, or epoch ms; None: the clock) in epoch ms."""
    return now_ms() if now is None else _to_ms(now)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``[start_ms, end_ms)`` in epoch milliseconds (UTC)."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms < self.start_ms:
            raise ValidationFailed(
                f"window ends ({to_iso(self.end_ms)}) before it starts ({to_iso(self.start_ms)})"
            )

    @classmethod
    def between(cls, start: datetime | int | str, end: datetime | int | str) -> Window:
        """From datetimes (naive means UTC), ISO-8601 text or epoch milliseconds."""
        return cls(_to_ms(start), _to_ms(end))

    @classmethod
    def last(
        cls, duration: str | float | timedelta, *, now: datetime | int | None = None
    ) -> Window:
        """The ``duration`` (``"1h"``, seconds, ``timedelta``) that ends at ``now``; a
        window longer than the time since 1970 starts at 1970 (no log is older)."""
        end = instant_ms(now)
        return cls(max(0, end - int(parse_duration(duration) * 1000)), end)

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0

    def dates(self) -> list[str]:
        """The ``date=`` partitions the window touches."""
        first, last = self.start_ms // _DAY_MS, max(self.start_ms, self.end_ms - 1) // _DAY_MS
        return [utc_date(d * _DAY_MS) for d in range(first, last + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "start": to_iso(self.start_ms),
            "end": to_iso(self.end_ms),
            "seconds": self.seconds,
        }


@dataclass(slots=True)
class WindowData:
    """The predictions of one endpoint in one window, with their labels joined.

    ``table`` columns: those of the prediction log plus ``label`` (JSON text), ``label_num``
    and ``label_ts`` (null while no label has arrived); ``proba`` (``list<double>``) only
    when some file of the window logged class probabilities. ``status`` is
    ``"insufficient_data"`` (and ``reason`` says why) when the window holds no prediction.
    ``failures``: the failed requests of the window, one row each (prediction-log columns
    with ``status`` and ``error``), or None when the log of the window records no failures
    (files older than the ``status`` column).
    """

    endpoint: str
    window: Window
    table: pa.Table
    status: WindowStatus
    reason: str | None = None
    model_version: str | None = None
    route: str | None = None
    failures: pa.Table | None = None

    @property
    def num_failed(self) -> int:
        """Failed requests in the window (0 when the log records none)."""
        return 0 if self.failures is None else int(self.failures.num_rows)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def num_labelled(self) -> int:
        if self.table.num_rows == 0:
            return 0
        return int(self.table.num_rows - self.table.column("label").null_count)

    @property
    def label_coverage(self) -> float:
        """Share of predictions with a label (0.0 for an empty window, never NaN)."""
        return self.num_labelled / self.num_rows if self.num_rows else 0.0

    @property
    def input_columns(self) -> list[str]:
        return [n[len("input_") :] for n in self.table.column_names if n.startswith("input_")]

    def inputs(self) -> pa.Table:
        """The ``input_<col>`` columns renamed back to ``<col>`` (the reference's names)."""
        names = [n for n in self.table.column_names if n.startswith("input_")]
        return self.table.select(names).rename_columns([n[len("input_") :] for n in names])

    def versions(self) -> list[str]:
        """Model versions seen in the window, most rows first."""
        return self._values("model_version")

    def routes(self) -> list[str]:
        return self._values("route")

    def _values(self, column: str) -> list[str]:
        if self.table.num_rows == 0:
            return []
        counts = pc.value_counts(self.table.column(column)).to_pylist()
        counts.sort(key=lambda c: (-c["counts"], str(c["values"])))
        return [c["values"] for c in counts if c["values"] is not None]

    def where(self, column: str, value: str) -> WindowData:
        """The rows whose ``column`` (``model_version``, ``route``) equals ``value``."""
        table = self.table.filter(pc.equal(self.table.column(column), value))
        failures = self.failures
        if failures is not None and column in failures.column_names:
            failures = failures.filter(pc.equal(failures.column(column), value))
        kwargs = {column: value} if column in ("model_version", "route") else {}
        return _result(self.endpoint, self.window, table, failures=failures, **kwargs)

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "window": self.window.to_dict(),
            "status": self.status,
            "reason": self.reason,
            "rows": self.num_rows,
            "labelled": self.num_labelled,
            "label_coverage": self.label_coverage,
            "model_versions": self.versions(),
            "routes": self.routes(),
        }


def _result(
    endpoint: str,
    window: Window,
    table: pa.Table,
    failures: pa.Table | None = None,
    **kwargs: Any,
) -> WindowData:
    if table.num_rows == 0:
        what = ", ".join(f"{k} {v}" for k, v in kwargs.items() if v is not None)
        failed = ""
        if failures is not None and failures.num_rows:
            failed = f"; {failures.num_rows} failed request(s)"
        reason = (
            f"no predictions for endpoint {endpoint!r}{' (' + what + ')' if what else ''} "
            f"between {to_iso(window.start_ms)} and {to_iso(window.end_ms)}{failed}"
        )
        return WindowData(
            endpoint, window, table, "insufficient_data", reason, failures=failures, **kwargs
        )
    return WindowData(endpoint, window, table, "ok", None, failures=failures, **kwargs)


def _split_failures(table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """``(answered rows, failed requests)``; failures None when no file had ``status``.
    A row without a status (a file older than the column) was answered."""
    if "status" not in table.column_names:
        return table, None
    failed = pc.fill_null(pc.greater_equal(table.column("status"), 400), False)
    return table.filter(pc.invert(failed)), table.filter(failed)


def default_log_uri() -> str:
    """Where the prediction log lives unless told: the ``prediction_log_uri`` setting,
    else ``<CONVEYOR_HOME>/logs``."""
    from conveyor.config import get_settings

    return get_settings().resolved_prediction_log_uri


def _files(log_uri: str, kind: str, endpoint: str, dates: list[str] | None) -> list[str]:
    """Parquet files of one endpoint; ``dates`` None means every date."""
    root = log_uri.removeprefix("file://")
    if "://" in root:
        import fsspec

        fs, base = fsspec.core.url_to_fs(root)
        folder = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
        found = fs.glob(f"{folder}/date=*/*.parquet")
        protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
        out = [f"{protocol}://{p}" for p in found]
    else:
        base_path = Path(root) / kind / f"endpoint={endpoint}"
        out = [str(p) for p in base_path.glob("date=*/*.parquet")] if base_path.is_dir() else []
    if dates is not None:
        wanted = {f"date={d}" for d in dates}
        out = [p for p in out if p.replace("\\", "/").rsplit("/", 2)[-2] in wanted]
    return sorted(out)


def require_endpoint(backend: Any, endpoint: str, log_uri: str | None = None) -> None:
    """NotFound unless ``endpoint`` is deployed (in ``backend``'s store) or has logged
    predictions under ``log_uri`` (a server outside the store, an endpoint since deleted)."""
    from conveyor.deployments import service as deployments

    with backend.meta.read() as conn:
        try:
            deployments.get_deployment(conn, endpoint)
            return
        except NotFound:
            pass
    uri = log_uri or default_log_uri()
    if _files(uri, "predictions", endpoint, None):
        return
    raise NotFound(
        f"endpoint {endpoint!r} does not exist: it is not deployed and nothing was logged for "
        f"it under {uri}; `conveyor deployments list` shows the deployed endpoints (pass "
        "--log-uri / log_uri= where its server writes the prediction log)",
        details={"endpoint": endpoint, "log_uri": uri},
    )


def _feedback_dates(window: Window, horizon_days: int | None) -> list[str] | None:
    if horizon_days is None:
        return None
    end = window.end_ms + horizon_days * _DAY_MS
    return Window(window.start_ms, end).dates()


def _source(con: Any, files: list[str], name: str) -> str:
    """Register ``files`` as a view (remote files are read through fsspec into Arrow)."""
    if any("://" in f for f in files):
        import fsspec
        import pyarrow.parquet as pq

        tables = []
        for f in files:
            with fsspec.open(f, "rb") as fh:
                tables.append(pq.read_table(fh))
        con.register(name, pa.concat_tables(tables, promote_options="default"))
        return name
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], hive_partitioning=false, union_by_name=true)"


def read_window(
    endpoint: str,
    window: Window | str | float | timedelta,
    *,
    log_uri: str | None = None,
    model_version: str | int | None = None,
    route: str | None = None,
    include_shadow: bool = False,
    feedback_horizon_days: int | None = 30,
    now: datetime | int | None = None,
) -> WindowData:
    """The predictions of ``endpoint`` in ``window`` (a :class:`Window`, or a duration such
    as ``"1h"`` meaning the last hour before ``now``) with their latest labels.

    ``feedback_horizon_days``: labels are looked for in feedback partitions from the window
    start up to this many days after its end (None: all feedback of the endpoint).
    """
    import duckdb

    if not isinstance(window, Window):
        window = Window.last(window, now=now)
    uri = log_uri or default_log_uri()
    version = None if model_version is None else str(model_version)
    pred_files = _files(uri, "predictions", endpoint, window.dates())
    if not pred_files:
        return _result(endpoint, window, _empty_table(), model_version=version, route=route)
    fb_files = _files(uri, "feedback", endpoint, _feedback_dates(window, feedback_horizon_days))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        preds = _source(con, pred_files, "conveyor_predictions")
        where = ["ts >= epoch_ms($start::BIGINT)", "ts < epoch_ms($end::BIGINT)"]
        params: dict[str, Any] = {"start": window.start_ms, "end": window.end_ms}
        if version is not None:
            where.append("model_version = $version")
            params["version"] = version
        if route is not None:
            where.append("route = $route")
            params["route"] = route
        if not include_shadow:
            where.append("shadow_of IS NULL")
        if fb_files:
            fb = _source(con, fb_files, "conveyor_feedback")
            labels = (
                "SELECT prediction_id AS label_id, arg_max(label, ts) AS label, "
                "arg_max(label_num, ts) AS label_num, max(ts) AS label_ts "
                f"FROM {fb} GROUP BY prediction_id"
            )
        else:
            labels = (
                "SELECT NULL::VARCHAR AS label_id, NULL::VARCHAR AS label, "
                "NULL::DOUBLE AS label_num, NULL::TIMESTAMPTZ AS label_ts WHERE false"
            )
        sql = (
            f"WITH p AS (SELECT * FROM {preds} WHERE {' AND '.join(where)}), "
            f"l AS ({labels}) "
            "SELECT p.*, l.label, l.label_num, l.label_ts FROM p "
            "LEFT JOIN l ON l.label_id = coalesce(p.shadow_of, p.prediction_id) "
            "ORDER BY p.ts, p.prediction_id"
        )
        table = con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        raise ValidationFailed(
            f"cannot read the prediction log of endpoint {endpoint!r} under {uri}: {exc}",
            details={"endpoint": endpoint, "log_uri": uri},
        ) from exc
    finally:
        con.close()
    served, failures = _split_failures(table)
    return _result(endpoint, window, served, failures, model_version=version, route=route)


def _empty_table() -> pa.Table:
    ts = pa.timestamp("us", "UTC")
    return pa.schema(
        [
            ("prediction_id", pa.string()),
            ("ts", ts),
            ("endpoint", pa.string()),
            ("model_version", pa.string()),
            ("route", pa.string()),
            ("latency_ms", pa.float64()),
            ("output", pa.string()),
            ("output_num", pa.float64()),
            ("shadow_of", pa.string()),
            ("agree", pa.bool_()),
            ("label", pa.string()),
            ("label_num", pa.float64()),
            ("label_ts", ts),
        ]
    ).empty_table()


def reference_for(
    backend: Any,
    endpoint: str,
    *,
    model_version: str | int | None = None,
    model: str | None = None,
    as_pandas: bool = False,
) -> Any:
    """The training data of the model version an endpoint serves: the dataset version
    named by its ``reference_dataset_version_id``.

    The model name comes from ``model`` or the endpoint's current deployment revision
    (the route serving ``model_version``, else the primary route). ``backend``: a
    ``LocalBackend`` (``meta`` + ``artifacts``). NotFound / ValidationFailed say what is
    missing and how to fix it.
    """
    from conveyor.data import service as data_service
    from conveyor.registry import service as registry

    with backend.meta.read() as conn:
        name, number = model, model_version
        if name is None and isinstance(number, str) and "/" in number:
            name, number = number.rsplit("/", 1)  # "<model>/<version>": routes of two models
        if name is None or number is None:
            from conveyor.deployments import service as deployments

            rev = deployments.get_revision(conn, endpoint)
            routes = [r for r in rev.routes if r.role != "shadow"] or list(rev.routes)
            chosen = next(
                (r for r in routes if number is not None and str(r.version) == str(number)),
                None,
            ) or next((r for r in routes if r.role == "primary"), routes[0])
            name = name or chosen.model
            number = number if number is not None else chosen.version
        mv = registry.get_model_version(conn, name, str(number))
        if not mv.reference_dataset_version_id:
            raise ValidationFailed(
                f"model version {mv.uri} has no reference dataset: its run logged no input "
                "data. In the training run, call `conveyor.log_input(dataset_version)` (or "
                '`conveyor.log_dataset(train_df, "<name>")`, which links it to the run) '
                "before `conveyor.log_model(...)`; or pass reference data "
                "(`window_report(..., reference=df)`, or a monitor's "
                '`options.reference = "<dataset>:<version>"`)',
                details={"model": name, "version": mv.version},
            )
        dv = data_service.get_dataset_version_by_id(conn, mv.reference_dataset_version_id)
    return data_service.load_dataset_version(backend.artifacts, dv, as_pandas=as_pandas)
