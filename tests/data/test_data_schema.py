"""Schema inference and comparison."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from conveyor.data.frames import to_table
from conveyor.data.schema import compare_schemas, infer_schema


def test_infer_schema_logical_types() -> None:
    df = pd.DataFrame(
        {
            "f": [1.0],
            "i": [1],
            "b": [True],
            "s": ["x"],
            "t": pd.to_datetime(["2024-01-01"]),
            "c": pd.Categorical(["a"]),
        }
    )
    schema = infer_schema(to_table(df))
    assert [(e["name"], e["type"]) for e in schema] == [
        ("f", "double"),
        ("i", "long"),
        ("b", "boolean"),
        ("s", "string"),
        ("t", "datetime"),
        ("c", "category"),
    ]
    assert all(e["nullable"] for e in schema)
    assert schema[1]["arrow_type"] == "int64"
    extra = infer_schema(
        pa.schema(
            [
                pa.field("d", pa.date32(), nullable=False),
                pa.field("l", pa.list_(pa.int64())),
                pa.field("u", pa.uint8()),
                pa.field("dec", pa.decimal128(10, 2)),
            ]
        )
    )
    assert [e["type"] for e in extra] == ["date", "list", "long", "decimal"]
    assert extra[0]["nullable"] is False


def test_compare_schemas_reports_missing_extra_and_type_changes() -> None:
    old = infer_schema(pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.float64())]))
    new = infer_schema(pa.schema([("a", pa.int32()), ("b", pa.int64()), ("d", pa.bool_())]))
    diff = compare_schemas(old, new)
    assert diff.missing == ["c"]
    assert diff.extra == ["d"]
    assert diff.type_changed == [{"name": "b", "expected": "string", "actual": "long"}]
    assert not diff.identical and not diff.compatible
    assert "missing columns ['c']" in diff.describe()
    same = compare_schemas(
        old,
        pa.schema(
            [("a", pa.int8()), ("b", pa.large_string()), ("c", pa.float32()), ("z", pa.bool_())]
        ),
    )
    assert same.compatible and not same.identical
    assert compare_schemas(old, old).identical
    assert compare_schemas(old, old).to_dict() == {"missing": [], "extra": [], "type_changed": []}
