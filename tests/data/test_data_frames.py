"""Reading user data and the logical content hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor.data.frames import content_hash, read_parquet, to_table, write_parquet
from conveyor.errors import ValidationFailed


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.5, np.nan, 3.25, -0.0],
            "n": [1, 2, 3, 4],
            "s": ["a", None, "ccc", ""],
            "b": [True, False, None, True],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-03-01"]),
            "c": pd.Categorical(["u", "v", "u", None]),
        }
    )


def test_same_data_same_hash_across_constructions() -> None:
    df = _frame()
    table = to_table(df)
    expected = content_hash(df)
    assert content_hash(table) == expected
    # chunked differently
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    assert content_hash(rechunked) == expected
    # string stored as string instead of large_string; dictionary with other index width
    retyped = table.cast(
        pa.schema(
            [
                pa.field("s", pa.string())
                if f.name == "s"
                else pa.field("c", pa.dictionary(pa.int32(), pa.string()))
                if f.name == "c"
                else f
                for f in table.schema
            ]
        )
    )
    assert content_hash(retyped) == expected
    # object strings instead of pandas string dtype
    obj = df.copy()
    obj["s"] = obj["s"].astype(object)
    assert content_hash(obj) == expected


def test_hash_survives_parquet_round_trip(tmp_path: Path) -> None:
    df = _frame()
    path = write_parquet(to_table(df), tmp_path / "d.parquet")
    assert content_hash(read_parquet(path)) == content_hash(df)
    assert content_hash(path) == content_hash(df)
    assert content_hash(read_parquet(path.read_bytes())) == content_hash(df)


def test_parquet_is_written_deterministically_with_zstd(tmp_path: Path) -> None:
    table = to_table(_frame())
    a = write_parquet(table, tmp_path / "a.parquet").read_bytes()
    b = write_parquet(table, tmp_path / "b.parquet").read_bytes()
    assert a == b
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


@pytest.mark.parametrize(
    "change",
    [
        lambda df: df.assign(n=[1, 2, 3, 5]),
        lambda df: df.assign(x=[1.5, np.nan, 3.25, 0.0001]),
        lambda df: df.assign(s=["a", None, "ccc", "d"]),
        lambda df: df.assign(s=["a", "", "ccc", ""]),  # null -> empty string
        lambda df: df.rename(columns={"n": "m"}),
        lambda df: df.assign(n=[1.0, 2.0, 3.0, 4.0]),  # type change
        lambda df: df.iloc[[1, 0, 2, 3]].reset_index(drop=True),  # row order
        lambda df: df[["n", "x", "s", "b", "t", "c"]],  # column order
        lambda df: df.iloc[:3],
    ],
)
def test_any_change_changes_the_hash(change: object) -> None:
    df = _frame()
    assert content_hash(change(df)) != content_hash(df)  # type: ignore[operator]


def test_nan_payloads_and_null_slots_do_not_matter() -> None:
    weird_nan = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), dtype=np.float64)[0]
    a = pa.table({"x": pa.array([1.0, weird_nan])})
    b = pa.table({"x": pa.array([1.0, np.nan])})
    assert content_hash(a) == content_hash(b)
    # a null slot with garbage underneath vs a clean null
    masked = pa.array(np.array([1, 99], dtype=np.int64), mask=np.array([False, True]))
    clean = pa.array([1, None], type=pa.int64())
    assert content_hash(pa.table({"v": masked})) == content_hash(pa.table({"v": clean}))


def test_nested_columns_hash_stably() -> None:
    a = pa.table({"l": [[1, 2], None, [3]], "s": [{"k": 1}, {"k": 2}, None]})
    b = pa.Table.from_batches(a.to_batches(max_chunksize=2))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(pa.table({"l": [[1, 2], None, [4]], "s": a["s"]}))


def test_to_table_reads_csv_and_parquet(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    assert to_table(csv).num_rows == 2
    assert to_table(str(csv)).column_names == ["a", "b"]


def test_to_table_keeps_a_meaningful_index() -> None:
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["a", "b"], name="key"))
    assert to_table(df).column_names == ["v", "key"]
    assert to_table(pd.DataFrame({"v": [1, 2]})).column_names == ["v"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2, 3], "cannot read data of type list"),
        ("missing.parquet", "no such data file"),
    ],
)
def test_to_table_rejects_bad_input(data: object, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        to_table(data)


def test_to_table_rejects_unknown_and_corrupt_files(tmp_path: Path) -> None:
    other = tmp_path / "d.xlsx"
    other.write_bytes(b"nope")
    with pytest.raises(ValidationFailed, match="unsupported data file"):
        to_table(other)
    broken = tmp_path / "d.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(ValidationFailed, match="cannot read data file"):
        to_table(broken)


def test_to_table_rejects_mixed_object_columns_and_duplicate_names() -> None:
    with pytest.raises(ValidationFailed, match="cannot convert the DataFrame"):
        to_table(pd.DataFrame({"a": [1, "x", 2.5]}))
    dup = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(ValidationFailed, match="duplicate column names"):
        to_table(dup)
