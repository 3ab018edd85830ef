"""Data-quality checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.monitoring import quality_report


def test_clean_window_passes() -> None:
    rng = np.random.default_rng(0)
    ref = pa.table({"x": rng.normal(size=1000), "c": rng.choice(["a", "b"], 1000)})
    report = quality_report(ref, ref)
    assert report.passed and report.issues == []


def test_every_check_fires(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ref = pa.table(
        {
            "x": rng.normal(size=1000),
            "c": rng.choice(["a", "b"], 1000),
            "gone": np.ones(1000),
            "t": np.arange(1000.0),
        }
    )
    x = rng.normal(size=300)
    x[:60] = np.nan  # 20% nulls
    x[60:90] = 100.0  # outside the reference range
    cur = pa.table(
        {
            "x": x,
            "c": ["a"] * 250 + ["zzz"] * 50,
            "t": [str(i) for i in range(300)],
            "new": np.zeros(300),
        }
    )
    pq.write_table(cur, tmp_path / "cur.parquet")
    report = quality_report(ref, tmp_path / "cur.parquet")
    checks = {(i.check, i.column) for i in report.issues}
    assert checks == {
        ("schema.missing", "gone"),
        ("schema.extra", "new"),
        ("schema.type_changed", "t"),
        ("nulls", "x"),
        ("range", "x"),
        ("unseen", "c"),
        ("volume", None),
    }
    assert not report.passed
    xq = next(c for c in report.columns if c.column == "x")
    assert xq.current_null_rate == 0.2 and xq.out_of_range_share == 30 / 240
    cq = next(c for c in report.columns if c.column == "c")
    assert cq.unseen_categories == ["zzz"] and cq.unseen_share == 50 / 300
    assert report.type_changes == {"t": ("double", "string")}
    assert '"passed":false' in report.to_json()


def test_volume_uses_expected_rows_and_tolerance() -> None:
    ref = pa.table({"x": np.arange(1000.0)})
    cur = pa.table({"x": np.arange(900.0)})
    assert quality_report(ref, cur, volume_tolerance=0.2).passed
    report = quality_report(ref, cur, expected_rows=2000, volume_tolerance=0.2)
    assert [i.check for i in report.issues] == ["volume"]


def test_quality_progress_reports_every_column() -> None:
    ref = pa.table({"x": np.arange(100.0), "c": ["a"] * 100})
    calls: list[tuple[int, int, str]] = []
    quality_report(ref, ref, progress=lambda d, t, c: calls.append((d, t, c)))
    assert calls == [(0, 2, "x"), (1, 2, "c"), (2, 2, "")]
