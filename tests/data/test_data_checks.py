"""Declarative data checks: each check passes and fails, reports serialise, errors list failures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conveyor.data.checks import (
    CheckSuite,
    allowed_values,
    in_range,
    not_null,
    row_count,
    run_checks,
    schema_match,
    unique,
)
from conveyor.data.schema import infer_schema
from conveyor.errors import ValidationFailed


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "age": [20.0, 35.5, np.nan, 61.0],
            "country": ["DE", "FR", "US", None],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
        }
    )


def _one(data: object, expectation: object) -> dict:
    report = run_checks(data, [expectation])  # type: ignore[list-item]
    return report.results[0].to_dict()


def test_not_null(df: pd.DataFrame) -> None:
    assert _one(df, not_null("id"))["passed"]
    failed = _one(df, not_null("age"))
    assert not failed["passed"]
    assert failed["observed"] == {"nulls": 1, "fraction": 0.25}
    assert failed["threshold"] == {"max_fraction": 0.0}
    assert _one(df, not_null("age", max_fraction=0.25))["passed"]
    # NaN in an Arrow float column counts as missing too
    assert not _one(pa.table({"x": [1.0, float("nan")]}), not_null("x"))["passed"]


def test_in_range(df: pd.DataFrame) -> None:
    assert _one(df, in_range("age", 18, 65))["passed"]
    failed = _one(df, in_range("age", 21, 60))
    assert not failed["passed"]
    assert failed["observed"]["out_of_range"] == 2
    assert sorted(failed["observed"]["examples"]) == [20.0, 61.0]
    assert failed["threshold"] == {"min": 21, "max": 60, "max_fraction": 0.0}
    assert "outside [21, 60]" in failed["message"]
    assert _one(df, in_range("id", min=1))["passed"]
    assert not _one(pa.table({"x": [1.0, float("nan")]}), in_range("x", 0, 2))["passed"]
    with pytest.raises(ValidationFailed, match="needs min, max or both"):
        in_range("age")


def test_allowed_values(df: pd.DataFrame) -> None:
    assert _one(df, allowed_values("country", ["DE", "FR", "US"]))["passed"]
    failed = _one(df, allowed_values("country", ["DE", "FR"]))
    assert not failed["passed"]
    assert failed["observed"] == {"not_allowed": 1, "examples": ["US"]}
    cat = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])})
    assert not _one(cat, allowed_values("c", ["a"]))["passed"]
    assert _one(cat, allowed_values("c", ["a", "b"]))["passed"]


def test_unique(df: pd.DataFrame) -> None:
    assert _one(df, unique("id"))["passed"]
    failed = _one(pd.DataFrame({"k": ["a", "b", "a", "a", "c", "c"]}), unique("k"))
    assert not failed["passed"]
    assert failed["observed"]["duplicates"] == 3
    assert sorted(failed["observed"]["examples"]) == ["a", "c"]


def test_row_count(df: pd.DataFrame) -> None:
    assert _one(df, row_count(min=1, max=4))["passed"]
    failed = _one(df, row_count(min=10))
    assert not failed["passed"] and failed["observed"] == {"rows": 4}
    assert not _one(df, row_count(max=3))["passed"]


def test_schema_match(df: pd.DataFrame) -> None:
    schema = infer_schema(pa.Table.from_pandas(df, preserve_index=False))
    assert _one(df, schema_match(schema))["passed"]
    assert not _one(df, schema_match(schema[:2]))["passed"]
    assert _one(df, schema_match(schema[:2], allow_extra=True))["passed"]
    retyped = df.assign(id=df["id"].astype(str))
    failed = _one(retyped, schema_match(schema, allow_extra=True))
    assert not failed["passed"]
    assert failed["observed"]["type_changed"] == [
        {"name": "id", "expected": "long", "actual": "string"}
    ]


def test_missing_column_fails_its_check(df: pd.DataFrame) -> None:
    failed = _one(df, not_null("nope"))
    assert not failed["passed"] and "'nope' is not in the data" in failed["message"]


def test_suite_json_round_trip_and_report(df: pd.DataFrame) -> None:
    suite = CheckSuite(
        [
            not_null("id"),
            in_range("age", 0, 30, name="young"),
            allowed_values("country", ["DE"]),
            row_count(min=1),
        ]
    )
    text = json.dumps(suite.to_dict())
    restored = CheckSuite.from_dict(json.loads(text))
    assert restored.to_dict() == suite.to_dict()
    report = run_checks(df, restored)
    assert not report.passed
    body = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert (body["num_checks"], body["num_failed"]) == (4, 2)
    with pytest.raises(ValidationFailed) as caught:
        report.raise_for_failures()
    message = caught.value.message
    assert "2 of 4 data checks failed" in message
    assert "young:" in message and "allowed_values(country):" in message
    assert "not_null(id)" not in message
    run_checks(df, [not_null("id")]).raise_for_failures()  # passes quietly
    with pytest.raises(ValidationFailed, match="unknown expectation"):
        CheckSuite.from_dict({"expectations": [{"kind": "bogus"}]})
