"""Windows over a real prediction log (written by PredictionLog) joined with feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from conveyor.errors import ValidationFailed
from conveyor.monitoring.windows import Window, default_log_uri, parse_duration, read_window
from conveyor.serving.prediction_log import PredictionLog

from .test_loop_helpers import ENDPOINT, SIG, T0, write_log


def test_window_reads_rows_in_range_with_latest_labels(tmp_path: Path) -> None:
    log = write_log(tmp_path)
    window = Window(T0 + 100_000, T0 + 500_000)  # requests 10..49
    data = read_window(ENDPOINT, window, log_uri=str(tmp_path))
    expected = [i for i, t in zip(log.ids, log.ts, strict=True) if T0 + 100_000 <= t < T0 + 500_000]
    assert data.status == "ok"
    assert data.table.column("prediction_id").to_pylist() == sorted(
        expected, key=lambda i: (log.ts[log.ids.index(i)], i)
    )
    labels = dict(
        zip(data.table.column("prediction_id").to_pylist(), data.table.column("label").to_pylist(),
            strict=True)
    )  # fmt: skip
    for pid, label in labels.items():
        assert label == (str(log.labels[pid]) if pid in log.labels else None)  # later label won
    assert data.num_labelled == sum(1 for i in expected if i in log.labels)
    assert data.label_coverage == pytest.approx(data.num_labelled / len(expected))
    assert set(data.versions()) == {"1", "2"}
    assert data.versions()[0] == "1"  # most rows first


def test_filters_by_version_and_route(tmp_path: Path) -> None:
    write_log(tmp_path)
    window = Window(T0, T0 + 3_600_000)
    v2 = read_window(ENDPOINT, window, log_uri=str(tmp_path), model_version=2)
    assert v2.num_rows == 25 * 4 and set(v2.table.column("route").to_pylist()) == {"canary"}
    primary = read_window(ENDPOINT, window, log_uri=str(tmp_path), route="primary")
    assert primary.num_rows == 75 * 4
    both = read_window(ENDPOINT, window, log_uri=str(tmp_path))
    assert both.where("model_version", "2").num_rows == v2.num_rows


def test_inputs_are_renamed_back_to_signature_names(tmp_path: Path) -> None:
    log = write_log(tmp_path, n_requests=5)
    data = read_window(ENDPOINT, Window(T0, T0 + 60_000), log_uri=str(tmp_path))
    inputs = data.inputs()
    assert inputs.column_names == ["x0", "c0"]
    assert inputs.schema.field("x0").type == pa.float64()
    np.testing.assert_allclose(inputs.column("x0").to_numpy(), log.x0[: data.num_rows])


def test_empty_windows_are_insufficient_data_not_errors(tmp_path: Path) -> None:
    before = read_window(ENDPOINT, Window(T0 - 7_200_000, T0 - 3_600_000), log_uri=str(tmp_path))
    assert before.status == "insufficient_data" and "no predictions" in str(before.reason)
    assert before.num_rows == 0 and before.label_coverage == 0.0
    write_log(tmp_path, n_requests=3)
    unknown = read_window("other", Window(T0, T0 + 60_000), log_uri=str(tmp_path))
    assert unknown.status == "insufficient_data"
    no_v = read_window(ENDPOINT, Window(T0, T0 + 60_000), log_uri=str(tmp_path), model_version=9)
    assert no_v.status == "insufficient_data" and "model_version 9" in str(no_v.reason)


def test_window_spanning_midnight_reads_both_date_partitions(tmp_path: Path) -> None:
    midnight = int(datetime(2026, 11, 28, tzinfo=UTC).timestamp() * 1000)
    write_log(tmp_path, n_requests=20, start_ms=midnight - 100_000, step_ms=10_000)
    dates = sorted(p.name for p in (tmp_path / "predictions" / f"endpoint={ENDPOINT}").iterdir())
    assert dates == ["date=2026-11-27", "date=2026-11-28"]
    window = Window(midnight - 50_000, midnight + 50_000)
    assert window.dates() == ["2026-11-27", "2026-11-28"]
    data = read_window(ENDPOINT, window, log_uri=str(tmp_path))
    assert data.num_rows == 10 * 4


def test_shadow_rows_are_excluded_unless_asked_and_share_the_served_label(tmp_path: Path) -> None:
    plog = PredictionLog(tmp_path)
    matrix = np.array([[0.1, "a"], [0.2, "b"]], dtype=object)
    plog.log(ENDPOINT, "1", "primary", ["s1", "s2"], T0, SIG, matrix, np.array([0.1, 0.9]), 3.0)
    plog.log(
        ENDPOINT, "2", "shadow", ["h1", "h2"], T0, SIG, matrix, np.array([0.2, 0.8]), 4.0,
        shadow_of=["s1", "s2"], agree=np.array([False, False]),
    )  # fmt: skip
    plog.log_feedback(ENDPOINT, [("s1", 0), ("s2", 1)], T0 + 5)
    plog.close()
    window = Window(T0, T0 + 1000)
    served = read_window(ENDPOINT, window, log_uri=str(tmp_path))
    assert served.table.column("prediction_id").to_pylist() == ["s1", "s2"]
    everything = read_window(ENDPOINT, window, log_uri=str(tmp_path), include_shadow=True)
    shadow = everything.where("model_version", "2")
    assert shadow.table.column("label_num").to_pylist() == [0.0, 1.0]


def test_last_and_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("15m") == 900
    assert parse_duration("1h") == 3600 and parse_duration("7d") == 7 * 86_400
    assert parse_duration(timedelta(minutes=2)) == 120 and parse_duration(5) == 5.0
    with pytest.raises(ValidationFailed, match="bad duration"):
        parse_duration("soon")
    w = Window.last("1h", now=T0)
    assert (w.start_ms, w.end_ms, w.seconds) == (T0 - 3_600_000, T0, 3600.0)
    assert Window.between("2026-11-27T10:00:00+00:00", T0 + 1).start_ms == T0
    with pytest.raises(ValidationFailed, match="before it starts"):
        Window(T0, T0 - 1)
    # longer than the time since 1970 (a fuzzer sent 1.8e16 s and got a 500): starts at 1970
    huge = Window.last(1.8e16, now=T0)
    assert (huge.start_ms, huge.dates()[0]) == (0, "1970-01-01")


def test_default_log_uri_is_under_conveyor_home(conveyor_home: Path) -> None:
    assert Path(default_log_uri()) == (conveyor_home / "logs").absolute()
