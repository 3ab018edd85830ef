"""Profiles: accuracy against numpy, mergeability, JSON round trips, streaming Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conveyor.data.frames import to_table, write_parquet
from conveyor.data.profile import QUANTILES, Profile, profile_parquet, profile_table
from conveyor.errors import ValidationFailed

RANK_TOLERANCE = 0.005


def _rank_errors(sorted_values: np.ndarray, estimates: dict[str, float]) -> list[float]:
    errors = []
    for key, q in QUANTILES.items():
        lo = np.searchsorted(sorted_values, estimates[key], side="left") / len(sorted_values)
        hi = np.searchsorted(sorted_values, estimates[key], side="right") / len(sorted_values)
        errors.append(0.0 if lo <= q <= hi else min(abs(lo - q), abs(hi - q)))
    return errors


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "normal": rng.normal(10, 2, n),
            "skewed": rng.lognormal(0, 2, n),
            "ints": rng.integers(-50, 50, n),
            "color": rng.choice(["red", "green", "blue", "grey"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "flag": rng.random(n) < 0.25,
        }
    )


def test_numeric_summary_matches_numpy() -> None:
    table = _table(200_000, 1)
    profile = profile_table(table, chunk_rows=30_000).to_dict()
    for col in profile["columns"][:3]:
        values = table[col["name"]].to_numpy().astype(np.float64)
        assert col["kind"] == "numeric"
        assert col["count"] == 200_000 and col["nulls"] == 0
        assert col["min"] == values.min() and col["max"] == values.max()
        assert col["mean"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-9)
        assert col["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert max(_rank_errors(np.sort(values), col["quantiles"])) <= RANK_TOLERANCE
        hist = col["histogram"]
        expected, _ = np.histogram(values, bins=np.array(hist["edges"]))
        assert sum(hist["counts"]) == 200_000
        assert np.abs(np.array(hist["counts"]) - expected).max() <= RANK_TOLERANCE * 200_000


def test_small_columns_are_exact() -> None:
    values = np.arange(1, 101, dtype=np.float64)
    col = profile_table(pa.table({"v": values})).to_dict()["columns"][0]
    expected = np.quantile(values, list(QUANTILES.values()), method="inverted_cdf")
    assert list(col["quantiles"].values()) == list(expected)
    assert col["histogram"]["counts"] == [5] * 20


def test_nulls_nan_and_infinities_are_counted_apart() -> None:
    data = pa.table({"x": pa.array([1.0, None, np.nan, np.inf, -np.inf, 3.0])})
    col = profile_table(data).to_dict()["columns"][0]
    assert (col["count"], col["nulls"], col["nan"], col["pos_inf"], col["neg_inf"]) == (
        6,
        1,
        1,
        1,
        1,
    )
    assert (col["finite"], col["min"], col["max"], col["mean"]) == (2, 1.0, 3.0, 2.0)
    json.dumps(col, allow_nan=False)


def test_categorical_frequencies_top_k_other_and_distinct() -> None:
    table = _table(100_000, 2)
    profile = profile_table(table, top_k=2).to_dict()
    color = profile["columns"][3]
    expected = pd.Series(table["color"].to_numpy(zero_copy_only=False)).value_counts()
    assert color["kind"] == "categorical" and color["type"] == "string"
    assert color["top"] == [
        {"value": "red", "count": int(expected["red"])},
        {"value": "green", "count": int(expected["green"])},
    ]
    assert color["other"] == int(expected["blue"] + expected["grey"])
    assert (color["distinct"], color["distinct_exact"]) == (4, True)
    flag = profile["columns"][4]
    assert {t["value"] for t in flag["top"]} == {True, False}


def test_high_cardinality_distinct_estimate_and_heavy_hitters() -> None:
    n = 300_000
    ids = np.array([f"user-{i}" for i in range(n)], dtype=object)
    ids[: n // 10] = "bot"  # one heavy hitter among ~270k distinct values
    col = profile_table(pa.table({"id": ids}), chunk_rows=50_000).to_dict()["columns"][0]
    assert col["distinct_exact"] is False
    true_distinct = n - n // 10 + 1
    assert abs(col["distinct"] - true_distinct) / true_distinct < 0.05
    assert col["top"][0]["value"] == "bot"
    assert n // 10 - n / 512 <= col["top"][0]["count"] <= n // 10


def test_datetime_and_category_columns() -> None:
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", None]),
            "c": pd.Categorical(["a", "b", "a"]),
        }
    )
    cols = profile_table(df).to_dict()["columns"]
    assert cols[0]["kind"] == "datetime" and cols[0]["unit"] == "epoch_seconds"
    assert cols[0]["min"] == pd.Timestamp("2024-01-01").timestamp()
    assert cols[0]["nulls"] == 1
    assert cols[1]["type"] == "category"
    assert cols[1]["top"] == [{"value": "a", "count": 2}, {"value": "b", "count": 1}]


def test_merge_equals_profile_of_union() -> None:
    a, b = _table(60_000, 3), _table(90_000, 4)
    merged = profile_table(a).merge(profile_table(b)).to_dict()
    whole = profile_table(pa.concat_tables([a, b])).to_dict()
    assert merged["num_rows"] == whole["num_rows"] == 150_000
    for m, w in zip(merged["columns"], whole["columns"], strict=True):
        assert (m["count"], m["nulls"]) == (w["count"], w["nulls"])
        if m["kind"] == "numeric":
            assert (m["min"], m["max"]) == (w["min"], w["max"])
            assert m["mean"] == pytest.approx(w["mean"], rel=1e-12)
            assert m["std"] == pytest.approx(w["std"], rel=1e-9)
            values = np.sort(pa.concat_tables([a, b])[m["name"]].to_numpy().astype(float))
            assert max(_rank_errors(values, m["quantiles"])) <= RANK_TOLERANCE
        else:
            assert m["top"] == w["top"] and m["distinct"] == w["distinct"]


def test_many_small_merges_stay_accurate() -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(0, 1.5, 200_000)
    parts = [
        profile_table(pa.table({"v": values[i : i + 2000]})) for i in range(0, len(values), 2000)
    ]
    merged = Profile.merge_all(parts).to_dict()["columns"][0]
    assert merged["count"] == 200_000
    assert max(_rank_errors(np.sort(values), merged["quantiles"])) <= RANK_TOLERANCE
    # inputs are untouched by merge_all
    assert parts[0].num_rows == 2000


def test_json_round_trip_keeps_merging() -> None:
    a, b = _table(20_000, 6), _table(20_000, 7)
    stored = json.loads(json.dumps(profile_table(a).to_dict(), allow_nan=False))
    restored = Profile.from_dict(stored)
    assert restored.to_dict() == stored
    merged = restored.merge(profile_table(b)).to_dict()
    direct = profile_table(a).merge(profile_table(b)).to_dict()
    assert merged == direct


def test_merge_with_disjoint_columns_counts_nulls() -> None:
    left = profile_table(pa.table({"a": [1.0, 2.0]}))
    right = profile_table(pa.table({"b": ["x", "y", "z"]}))
    merged = left.merge(right).to_dict()
    a, b = merged["columns"]
    assert (a["count"], a["nulls"]) == (5, 3)
    assert (b["count"], b["nulls"]) == (5, 2)
    with pytest.raises(ValidationFailed, match="numeric in one and categorical"):
        profile_table(pa.table({"a": [1.0]})).merge(profile_table(pa.table({"a": ["s"]})))
    with pytest.raises(ValidationFailed, match="not a Conveyor profile"):
        Profile.from_dict({"columns": []})


def test_profile_parquet_streams_row_groups(tmp_path: Path) -> None:
    table = _table(50_000, 8)
    path = tmp_path / "groups.parquet"
    import pyarrow.parquet as pq

    pq.write_table(table, path, row_group_size=7_000)
    assert pq.ParquetFile(path).num_row_groups == 8
    streamed = profile_parquet(path).to_dict()
    in_memory = profile_table(table, chunk_rows=7_000).to_dict()
    assert streamed == in_memory
    write_parquet(to_table(table), tmp_path / "one.parquet")
    assert profile_parquet(tmp_path / "one.parquet").num_rows == 50_000
    with pytest.raises(ValidationFailed, match="cannot read Parquet file"):
        profile_parquet(tmp_path / "nothing.parquet")


def test_empty_and_all_null_columns() -> None:
    table = pa.table(
        {
            "x": pa.array([None, None], type=pa.float64()),
            "s": pa.array([None, None], type=pa.string()),
        }
    )
    cols = profile_table(table).to_dict()["columns"]
    assert cols[0]["min"] is None and cols[0]["quantiles"]["p50"] is None
    assert cols[0]["histogram"] == {"edges": [], "counts": []}
    assert cols[1]["top"] == [] and cols[1]["distinct"] == 0
    json.dumps(cols, allow_nan=False)
    empty = profile_table(table.slice(0, 0)).to_dict()
    assert empty["num_rows"] == 0
