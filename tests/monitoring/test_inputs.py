"""Every input kind gives the same answer; Parquet is streamed in bounded chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from conveyor.monitoring import drift_report

from .conftest import make_table


class _Versioned:
    """Stands in for a conveyor.data dataset version: anything with to_arrow()."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def to_arrow(self) -> pa.Table:
        return self._table


def _strip(d: dict) -> dict:
    d = dict(d)
    for key in ("elapsed_seconds", "created"):
        d.pop(key)
    return d


def test_parquet_streaming_equals_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    ref = make_table(20_000, rng, numeric=3, categorical=2)
    cur = make_table(20_000, rng, numeric=3, categorical=2, shift={"x1": 0.2})
    pq.write_table(ref, tmp_path / "ref.parquet", row_group_size=3000)
    pq.write_table(cur, tmp_path / "cur.parquet", row_group_size=3000)
    in_memory = drift_report(ref, cur)
    streamed = drift_report(
        tmp_path / "ref.parquet", str(tmp_path / "cur.parquet"), chunk_rows=1000
    )
    # exact statistics on both paths: equal to the last bit, not just within tolerance
    assert _strip(streamed.to_dict()) == _strip(in_memory.to_dict())
    assert streamed.drifted_columns == ["x1"]


def test_large_parquet_streaming_equals_in_memory_within_bound(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    ref = make_table(150_000, rng, numeric=2, categorical=1)
    cur = make_table(150_000, rng, numeric=2, categorical=1)
    pq.write_table(ref, tmp_path / "ref.parquet", row_group_size=50_000)
    pq.write_table(cur, tmp_path / "cur.parquet", row_group_size=50_000)
    a = drift_report(ref, cur)
    b = drift_report(tmp_path / "ref.parquet", tmp_path / "cur.parquet", chunk_rows=7_777)
    for x, y in zip(a.columns, b.columns, strict=True):
        assert x.statistic == y.statistic  # binned KS: same bins, same counts
        assert x.status == y.status


def test_pandas_arrow_and_adapter_inputs_agree() -> None:
    rng = np.random.default_rng(13)
    ref = make_table(3000, rng, numeric=2, categorical=2)
    cur = make_table(3000, rng, numeric=2, categorical=2, shift={"x0": 0.5})
    base = _strip(drift_report(ref, cur).to_dict())

    def typeless(d: dict) -> list[dict]:  # pandas str columns arrive as large_string
        return [{k: v for k, v in c.items() if not k.endswith("_type")} for c in d["columns"]]

    from_pandas = _strip(drift_report(ref.to_pandas(), cur.to_pandas()).to_dict())
    assert typeless(from_pandas) == typeless(base)
    assert _strip(drift_report(_Versioned(ref), _Versioned(cur)).to_dict()) == base


def test_pandas_category_and_integer_columns() -> None:
    import pandas as pd

    rng = np.random.default_rng(14)
    ref = pd.DataFrame(
        {"code": rng.integers(0, 4, 2000), "city": pd.Categorical(rng.choice(["x", "y"], 2000))}
    )
    cur = pd.DataFrame(
        {
            "code": rng.integers(0, 5, 2000),
            "city": pd.Categorical(rng.choice(["x", "y", "z"], 2000)),
        }
    )
    report = drift_report(ref, cur, categorical=["code"])
    code = report.column("code")
    assert code.kind == "categorical" and code.unseen_categories[0]["value"] == "4"
    city = report.column("city")
    assert city.kind == "categorical"
    assert [u["value"] for u in city.unseen_categories] == ["z"]
    assert city.drifted


def test_progress_callback_reports_every_column() -> None:
    rng = np.random.default_rng(15)
    t = make_table(500, rng, numeric=3, categorical=1)
    calls: list[tuple[int, int, str]] = []
    drift_report(t, t, progress=lambda done, total, col: calls.append((done, total, col)))
    assert calls[0] == (0, 4, "")
    assert calls[-1][:2] == (4, 4)
    assert sorted(c for _, _, c in calls[1:]) == ["c0", "x0", "x1", "x2"]


def test_thread_pool_and_serial_runs_agree() -> None:
    rng = np.random.default_rng(16)
    ref = make_table(60_000, rng, numeric=4, categorical=2)
    cur = make_table(60_000, rng, numeric=4, categorical=2, shift={"x3": 0.1})
    one = _strip(drift_report(ref, cur, workers=1).to_dict())
    two = _strip(drift_report(ref, cur, workers=3).to_dict())
    assert one == two
    assert one["drifted_columns"] == ["x3"]


def test_dataset_versions_are_read_through_the_backend_and_streamed() -> None:
    import pytest

    import conveyor
    from conveyor.errors import IntegrityError
    from conveyor.monitoring import quality_report
    from conveyor.monitoring._sources import ParquetSource, open_source

    rng = np.random.default_rng(15)
    ref = make_table(3000, rng, numeric=2, categorical=1)
    cur = make_table(3000, rng, numeric=2, categorical=1, shift={"x0": 0.5})
    ref_v = conveyor.log_dataset(ref, "ref")
    cur_v = conveyor.log_dataset(cur, "cur")
    assert isinstance(open_source(ref_v, role="reference"), ParquetSource)
    expected = drift_report(conveyor.load_dataset("ref"), conveyor.load_dataset("cur"))
    got = drift_report(ref_v, cur_v, chunk_rows=500)
    assert [(c.column, c.statistic, c.status) for c in got.columns] == [
        (c.column, c.statistic, c.status) for c in expected.columns
    ]
    assert "x0" in got.drifted_columns
    assert quality_report(ref_v, cur_v).passed
    # a corrupted file is refused, as load_dataset refuses it
    artifacts = conveyor.connect().artifacts  # type: ignore[attr-defined]
    path = artifacts.backend.local_path(artifacts.key(ref_v.file_sha256))
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match="corrupted"):
        drift_report(ref_v, cur_v)
