"""The read operation the UI added: a metric's history as columns, on both transports."""

from __future__ import annotations

import math
from statistics import median
from typing import Any

import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend.http import HttpBackend
from conveyor.errors import NotFound
from conveyor.tracking.metric_rows import MetricRows


@pytest.mark.server
def test_metric_columns_match_the_history(sqlite_backend: Any) -> None:
    exp = sqlite_backend.create_experiment("cols")
    run = sqlite_backend.create_run(exp.id)
    values = [0.5, math.nan, math.inf, 0.25]
    rows = MetricRows(["loss"] * 4, values, [0, 1, 1, 2], [10, 20, 21, 30])
    sqlite_backend.log_batch(run.id, metrics=rows)
    with ServerThread(create_app(sqlite_backend)) as server, HttpBackend(server.url) as http:
        for client in (sqlite_backend, http):
            cols = client.get_metric_columns(run.id, "loss")
            history = client.get_metric_history(run.id, "loss")
            assert cols.steps == [p.step for p in history] == [0, 1, 1, 2]
            assert cols.timestamps == [p.timestamp for p in history]
            assert str(cols.values) == str([p.value for p in history])
            assert cols.keys == ["loss"] * 4
            assert client.get_metric_columns(run.id, "nothing").steps == []
            with pytest.raises(NotFound):
                client.get_metric_columns("0" * 32, "loss")


def test_metric_columns_read_through_the_driver_on_both_databases(
    meta: Any, artifacts: Any
) -> None:
    """get_metric_columns reads with store.dialect.fetch_tuples (the driver's tuples, no
    SQLAlchemy rows): the same points, order and NaN on SQLite and PostgreSQL."""
    from conveyor.backend import LocalBackend

    backend = LocalBackend(meta, artifacts)
    run = backend.create_run(backend.create_experiment("driver-read").id)
    other = backend.create_run(backend.create_experiment("driver-read-2").id)
    steps = [3, 0, 1, 1, 2]
    rows = MetricRows(["loss"] * 5, [0.3, 0.0, math.nan, 0.1, -2.5], steps, [5, 1, 2, 3, 4])
    backend.log_batch(run.id, metrics=rows)
    backend.log_batch(other.id, metrics=MetricRows(["loss"], [9.0], [0], [0]))
    cols = backend.get_metric_columns(run.id, "loss")
    assert cols.steps == [0, 1, 1, 2, 3]
    assert cols.timestamps == [1, 2, 3, 4, 5]
    assert str(cols.values) == str([0.0, math.nan, 0.1, -2.5, 0.3])
    assert all(type(v) is float for v in cols.values)
    assert all(type(t) is int for t in cols.timestamps + cols.steps)
    assert backend.get_metric_columns(other.id, "loss").values == [9.0]


@pytest.mark.server
def test_metric_chart_keeps_every_point_or_each_buckets_envelope(sqlite_backend: Any) -> None:
    from conveyor.errors import ValidationFailed

    exp = sqlite_backend.create_experiment("chart")
    run = sqlite_backend.create_run(exp.id)
    steps = list(range(1000))
    values = [math.sin(s / 7) + (s % 13) / 13 for s in steps]
    values[500] = math.nan  # a NaN point is a gap, not a bucket's minimum
    rows = MetricRows(["loss"] * 1000, values, steps, [10_000 + s for s in steps])
    sqlite_backend.log_batch(run.id, metrics=rows)
    with ServerThread(create_app(sqlite_backend)) as server, HttpBackend(server.url) as http:
        for client in (sqlite_backend, http):
            every = client.get_metric_chart(run.id, "loss", max_points=1000)
            assert (every.points, every.downsampled, every.steps) == (1000, False, steps)
            assert str(every.values) == str(values)
            chart = client.get_metric_chart(run.id, "loss", max_points=100)
            assert (chart.points, chart.downsampled, len(chart.steps)) == (1000, True, 100)
            for b in range(50):  # 50 buckets of 20 steps: (first step, min), (last step, max)
                part = [v for v in values[b * 20 : b * 20 + 20] if not math.isnan(v)]
                assert chart.steps[2 * b : 2 * b + 2] == [b * 20, b * 20 + 19]
                assert chart.values[2 * b : 2 * b + 2] == [min(part), max(part)]
                assert chart.timestamps[2 * b] == 10_000 + b * 20
            zoom = client.get_metric_chart(run.id, "loss", max_points=100, min_step=40, max_step=89)
            assert (zoom.points, zoom.downsampled, zoom.steps) == (50, False, steps[40:90])
            assert client.get_metric_chart(run.id, "nothing").points == 0
            with pytest.raises(ValidationFailed, match="max_points must be from 2"):
                client.get_metric_chart(run.id, "loss", max_points=1)
            with pytest.raises(ValidationFailed, match="is after max_step"):
                client.get_metric_chart(run.id, "loss", min_step=9, max_step=3)
            with pytest.raises(NotFound):
                client.get_metric_chart("0" * 32, "loss")


@pytest.mark.server
def test_endpoint_traffic_and_log_sample_read_the_prediction_log(sqlite_backend: Any) -> None:
    from pathlib import Path

    from tests.monitoring.test_loop_helpers import write_log

    from conveyor._util import now_ms
    from conveyor.errors import ValidationFailed
    from conveyor.monitoring.windows import default_log_uri

    start = now_ms() - 40 * 60_000
    data = write_log(Path(default_log_uri()), n_requests=40, start_ms=start, step_ms=60_000)
    with ServerThread(create_app(sqlite_backend)) as server, HttpBackend(server.url) as http:
        for client in (sqlite_backend, http):
            traffic = client.endpoint_traffic("churn", "1h", 6)
            assert (traffic.status, traffic.bucket_ms, len(traffic.starts)) == ("ok", 600_000, 6)
            assert sum(traffic.requests) == 40 and sum(traffic.rows) == len(data.ids)
            assert traffic.requests[0] == 0 and traffic.latency_p50[0] is None
            assert traffic.summary["requests"] == 40 and traffic.summary["error_rate"] == 0.0
            # no failed request: 0.0 in each bucket with traffic, None in an empty one
            assert traffic.error_rate == [0.0 if n else None for n in traffic.requests]
            busy = [p for p in traffic.latency_p99 if p is not None]
            assert busy and all(5.0 <= p <= 14.0 for p in busy)
            per_request = data.latency[::4]  # 4 rows a request, one latency each
            assert traffic.summary["latency_ms"]["p50"] == pytest.approx(median(per_request))
            sample = client.sample_predictions("churn", "1h", 5)
            assert sample.total == len(data.ids)
            assert [r["prediction_id"] for r in sample.rows] == data.ids[::-1][:5]
            newest = sample.rows[0]
            assert newest["ts"] == data.ts[-1] and set(newest["inputs"]) == {"x0", "c0"}
            with pytest.raises(NotFound, match="'nowhere' does not exist"):
                client.endpoint_traffic("nowhere")
            with pytest.raises(ValidationFailed, match="buckets must be an integer from 1"):
                client.endpoint_traffic("churn", "1h", 0)
            with pytest.raises(ValidationFailed, match="bad duration"):
                client.sample_predictions("churn", "soon")
