"""Bad input never crashes and never yields a silent NaN verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conveyor.errors import ValidationFailed
from conveyor.monitoring import drift_report


def _no_nan(report_dict: dict) -> None:
    for col in report_dict["columns"]:
        for key in ("statistic", "p_value", "distance", "threshold"):
            v = col[key]
            assert v is None or math.isfinite(v), (col["column"], key, v)


def test_missing_and_extra_columns_get_a_per_column_status() -> None:
    rng = np.random.default_rng(0)
    ref = pa.table({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    cur = pa.table({"a": rng.normal(size=100), "z": rng.normal(size=100)})
    report = drift_report(ref, cur)
    assert report.column("b").status == "insufficient_data"
    assert report.column("b").reason == "column missing in current data"
    assert report.column("z").reason == "column missing in reference data"
    assert report.column("a").status == "ok"
    assert report.n_evaluated == 1


def test_requested_columns_absent_everywhere_is_a_clear_error() -> None:
    ref = pa.table({"a": [1.0, 2.0]})
    with pytest.raises(ValidationFailed, match=r"\['nope'\]"):
        drift_report(ref, ref, columns=["a", "nope"])


def test_type_change_is_reported() -> None:
    ref = pa.table({"a": np.arange(100.0)})
    cur = pa.table({"a": [str(i) for i in range(100)]})
    col = drift_report(ref, cur).column("a")
    assert col.status == "insufficient_data"
    assert col.reason == "type changed from double to string"


@pytest.mark.parametrize(
    ("ref_values", "cur_values", "reason"),
    [
        ([], [], "reference window is empty"),
        ([1.0] * 50, [], "current window is empty"),
        ([None] * 50, [1.0] * 50, "reference column is entirely null"),
        ([1.0] * 50, [float("nan")] * 50, "current column is entirely null"),
        ([1.0] * 50, [2.0], "current has 1 non-null values; at least 30 are needed"),
    ],
)
def test_insufficient_numeric_data(ref_values: list, cur_values: list, reason: str) -> None:
    ref = pa.table({"x": pa.array(ref_values, pa.float64())})
    cur = pa.table({"x": pa.array(cur_values, pa.float64())})
    report = drift_report(ref, cur)
    col = report.column("x")
    assert col.status == "insufficient_data"
    assert col.reason == reason
    assert not col.drifted
    assert report.status == "insufficient_data" and not report.drifted
    _no_nan(report.to_dict())
    assert "Not enough data" in report.verdict()


def test_insufficient_categorical_data() -> None:
    ref = pa.table({"c": pa.array([None] * 40, pa.string())})
    cur = pa.table({"c": ["a"] * 40})
    col = drift_report(ref, cur).column("c")
    assert col.status == "insufficient_data"
    assert col.reason == "reference column is entirely null"


def test_constant_columns() -> None:
    same = drift_report(pa.table({"x": [3.0] * 100}), pa.table({"x": [3.0] * 100}))
    assert same.column("x").status == "ok" and same.column("x").statistic == 0.0
    moved = drift_report(pa.table({"x": [3.0] * 100}), pa.table({"x": [4.0] * 100}))
    assert moved.column("x").drifted and moved.column("x").statistic == 1.0
    w = drift_report(
        pa.table({"x": [3.0] * 100}),
        pa.table({"x": np.arange(100.0)}),
        methods={"numeric": "wasserstein"},
    ).column("x")
    assert w.status == "insufficient_data"
    assert "constant" in (w.reason or "")
    _no_nan(same.to_dict())


def test_psi_with_a_constant_reference_sees_values_leave_the_constant() -> None:
    ref = pd.DataFrame({"k": np.ones(100)})
    psi = {"numeric": "psi"}
    half = drift_report(ref, pd.DataFrame({"k": np.r_[np.ones(50), np.zeros(50)]}), methods=psi)
    col = half.column("k")
    assert col.drifted and col.distance is not None and col.distance > 1.0
    assert col.details["bins"] == 3
    above = drift_report(ref, pd.DataFrame({"k": np.full(100, 2.0)}), methods=psi).column("k")
    assert above.drifted
    same = drift_report(ref, pd.DataFrame({"k": np.ones(100)}), methods=psi).column("k")
    assert same.status == "ok" and same.distance == 0.0
    _no_nan(half.to_dict())


def test_single_row() -> None:
    report = drift_report(
        pd.DataFrame({"x": [1.0], "c": ["a"]}), pd.DataFrame({"x": [2.0], "c": ["b"]})
    )
    assert [c.status for c in report.columns] == ["insufficient_data"] * 2
    assert report.status == "insufficient_data"


def test_nulls_are_excluded_and_rated() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=1000)
    cur = values.copy()
    cur[:250] = np.nan
    col = drift_report(pd.DataFrame({"x": values}), pd.DataFrame({"x": cur})).column("x")
    assert col.current_null_rate == 0.25 and col.reference_null_rate == 0.0
    assert col.current_count == 750


def test_bad_arguments() -> None:
    t = pa.table({"x": [1.0, 2.0]})
    with pytest.raises(ValidationFailed, match="cannot read reference"):
        drift_report(42, t)
    with pytest.raises(ValidationFailed, match="does not exist"):
        drift_report("/no/such/file.parquet", t)
    with pytest.raises(ValidationFailed, match="feature_importance"):
        drift_report(t, t, feature_importance={"x": -1.0})
    with pytest.raises(ValidationFailed, match="no numeric drift method"):
        drift_report(t, t, methods={"x": "chisquare"})
    with pytest.raises(ValidationFailed, match="dataset_threshold"):
        drift_report(t, t, dataset_threshold=0.0)


def test_unknown_keys_of_methods_thresholds_and_importance_are_named() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"age": rng.normal(size=100), "city": ["a", "b"] * 50})
    cur = pd.DataFrame({"age": rng.normal(size=100), "city": ["a", "b"] * 50})
    with pytest.raises(ValidationFailed, match=r"methods has unknown key\(s\) \['nmeric'\]") as e:
        drift_report(ref, cur, methods={"nmeric": "psi"})
    assert "'numeric', 'categorical'" in str(e.value) and "'age'" in str(e.value)
    with pytest.raises(ValidationFailed, match=r"thresholds has unknown key\(s\) \['aa'\]") as e:
        drift_report(ref, cur, thresholds={"aa": 0.1})
    assert "'psi'" in str(e.value) and "'city'" in str(e.value)
    with pytest.raises(ValidationFailed, match=r"feature_importance .* \['agee'\]"):
        drift_report(ref, cur, feature_importance={"agee": 1.0})
    with pytest.raises(ValidationFailed, match=r"thresholds must be finite numbers.*'age': '0.1'"):
        drift_report(ref, cur, thresholds={"age": "0.1"})
    # the valid spellings still work: a column, a kind, a method name
    ok = drift_report(
        ref,
        cur,
        methods={"age": "psi", "categorical": "jensenshannon"},
        thresholds={"psi": 0.3, "city": 0.2},
        feature_importance={"age": 1.0},
    )
    assert ok.column("age").method == "psi" and ok.column("age").threshold == 0.3
