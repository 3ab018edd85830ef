"""Request bodies of every supported protocol parse to the same matrix; errors list fields."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from serving_helpers import COLUMNS

from conveyor.errors import MalformedRequest, ValidationFailed
from conveyor.serving import Column, Signature
from conveyor.serving.protocols import (
    loads,
    parse_invocations,
    parse_v2,
    render_invocations,
    render_v2,
)

SIG = Signature([Column(c, "double") for c in COLUMNS], dtype=np.float32)
ROWS = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.5]]
RECORDS = [dict(zip(COLUMNS, r, strict=True)) for r in ROWS]
EXPECTED = np.array(ROWS, dtype=np.float32)


@pytest.mark.parametrize(
    "body",
    [
        {"records": RECORDS},
        {"dataframe_records": RECORDS},
        {"dataframe_split": {"columns": COLUMNS, "data": ROWS}},
        {"dataframe_split": {"columns": COLUMNS[::-1], "data": [r[::-1] for r in ROWS]}},
        {"dataframe_split": {"index": [0, 1], "columns": COLUMNS, "data": ROWS}},
        {"instances": RECORDS},
        {"instances": ROWS},
        {"inputs": {c: [r[i] for r in ROWS] for i, c in enumerate(COLUMNS)}},
        {"inputs": RECORDS},
    ],
    ids=[
        "records",
        "dataframe_records",
        "dataframe_split",
        "dataframe_split_reordered",
        "dataframe_split_index",
        "instances_records",
        "instances_rows",
        "inputs_columns",
        "inputs_records",
    ],
)
def test_invocation_bodies_parse_to_the_same_matrix(body: dict) -> None:
    matrix = parse_invocations(loads(orjson.dumps(body)), SIG)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, EXPECTED)


def test_single_record_fast_path_and_int_values_for_float_columns() -> None:
    matrix = parse_invocations({"records": {"f0": 1, "f1": 2, "f2": 3, "f3": 4.5}}, SIG)
    np.testing.assert_array_equal(matrix, [[1, 2, 3, 4.5]])


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": ROWS}]},
        {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": ROWS[0] + ROWS[1]}]},
        {
            "id": "req-1",
            "inputs": [
                {"name": c, "shape": [2], "datatype": "FP64", "data": [r[i] for r in ROWS]}
                for i, c in enumerate(COLUMNS)
            ],
        },
    ],
    ids=["tensor_nested", "tensor_flat", "per_column"],
)
def test_v2_bodies_parse(body: dict) -> None:
    matrix, req_id = parse_v2(body, SIG)
    np.testing.assert_array_equal(matrix, EXPECTED)
    assert req_id == body.get("id")


def test_v2_single_row_shape() -> None:
    body = {"inputs": [{"name": "input", "shape": [4], "datatype": "FP32", "data": ROWS[0]}]}
    matrix, _ = parse_v2(body, SIG)
    np.testing.assert_array_equal(matrix, EXPECTED[:1])


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"name": "input", "shape": [2, 3], "datatype": "FP32", "data": ROWS}]},
        {"inputs": [{"name": "input", "shape": [3, 4], "datatype": "FP32", "data": ROWS}]},
        {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "NOPE", "data": ROWS}]},
        {"inputs": [{"name": "input", "shape": "2x4", "datatype": "FP32", "data": ROWS}]},
        {"inputs": [{"shape": [2, 4], "data": ROWS}]},
        {"inputs": []},
        {"inputs": "x"},
        [],
    ],
)
def test_v2_bad_bodies_are_validation_errors(body: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_v2(body, SIG)
    assert info.value.status == 422
    assert info.value.details["errors"]


def test_field_errors_list_missing_extra_and_mistyped() -> None:
    bad = {"f0": 1.0, "f1": "two", "f2": None, "extra": 1}
    with pytest.raises(ValidationFailed) as info:
        parse_invocations({"records": [RECORDS[0], bad]}, SIG)
    errors = info.value.details["errors"]
    assert {"field": "f1", "error": "expected a number, got str", "row": 1} in errors
    assert not any(e["field"] == "f2" for e in errors)  # null in a number column: missing
    assert {"field": "f3", "error": "missing", "row": 1} in errors
    assert {"field": "extra", "error": "unexpected field", "row": 1} in errors
    assert all(e["row"] == 1 for e in errors)


def test_positional_rows_wrong_width_and_type() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_invocations({"instances": [[1.0, 2.0], [1.0, True, 3.0, 4.0]]}, SIG)
    errors = info.value.details["errors"]
    assert errors[0] == {"field": "*", "error": "expected 4 values, got 2", "row": 0}
    assert errors[1] == {"field": "f1", "error": "expected a number, got bool", "row": 1}


@pytest.mark.parametrize(
    "body", [{}, {"records": []}, {"records": 3}, {"unknown": 1}, [1, 2], "text", None]
)
def test_unusable_invocation_bodies(body: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_invocations(body, SIG)


def test_several_input_keys_are_refused_not_guessed() -> None:
    with pytest.raises(ValidationFailed, match="several input keys") as info:
        parse_invocations({"records": RECORDS, "instances": ROWS}, SIG)
    assert [e["field"] for e in info.value.details["errors"]] == ["instances", "records"]


def test_v2_input_named_after_a_column_reports_the_missing_columns() -> None:
    body = {"inputs": [{"name": "f0", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
    with pytest.raises(ValidationFailed) as info:
        parse_v2(body, SIG)
    missing = [e["field"] for e in info.value.details["errors"] if e["error"] == "missing"]
    assert missing == ["f1", "f2", "f3"]


def test_malformed_json() -> None:
    with pytest.raises(MalformedRequest) as info:
        loads(b'{"records": [')
    assert info.value.status == 400


def test_typed_columns_for_function_predictors() -> None:
    sig = Signature([Column("age", "long"), Column("plan", "string"), Column("vip", "boolean")])
    matrix = parse_invocations({"records": [{"age": 3, "plan": "pro", "vip": True}]}, sig)
    assert matrix.tolist() == [[3, "pro", True]]
    with pytest.raises(ValidationFailed) as info:
        parse_invocations({"records": [{"age": 3.5, "plan": 1, "vip": "yes"}]}, sig)
    assert [e["field"] for e in info.value.details["errors"]] == ["age", "plan", "vip"]


def test_renderers() -> None:
    out = np.array([1, 0], dtype=np.int64)
    body = orjson.loads(render_invocations(out, ["a" * 32, "b" * 32], "7"))
    assert body == {"predictions": [1, 0], "prediction_ids": ["a" * 32, "b" * 32],
                    "model_version": "7"}  # fmt: skip
    raw, header_length = render_v2("clf", "7", "req", out, ["a" * 32, "b" * 32])
    assert header_length is None  # no binary output asked for
    v2 = orjson.loads(raw)
    assert v2["id"] == "req" and v2["model_version"] == "7" and v2["model_name"] == "clf"
    assert v2["outputs"] == [{"name": "predict", "shape": [2], "datatype": "INT64",
                              "data": [1, 0]}]  # fmt: skip
    assert v2["parameters"]["prediction_ids"] == ["a" * 32, "b" * 32]
