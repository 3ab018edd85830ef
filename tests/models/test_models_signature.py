from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conveyor.errors import ValidationFailed
from conveyor.models import ColSpec, Signature, infer_signature
from conveyor.models.signature import coerce_frame, to_frame, validate_frame


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "d": [1.5, 2.5],
            "f": np.array([1.0, 2.0], dtype=np.float32),
            "l": [1, 2],
            "i": np.array([1, 2], dtype=np.int32),
            "b": [True, False],
            "s": ["a", "b"],
            "t": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "n": [1.0, None],
        }
    )


def test_infer_types_and_nullability() -> None:
    sig = infer_signature(_frame(), np.array([0, 1]))
    assert [(c.name, c.type, c.required) for c in sig.inputs] == [
        ("d", "double", True),
        ("f", "float", True),
        ("l", "long", True),
        ("i", "integer", True),
        ("b", "boolean", True),
        ("s", "string", True),
        ("t", "datetime", True),
        ("n", "double", False),
    ]
    assert sig.outputs == (ColSpec(type="long", name=None),)


def test_infer_from_array_and_records() -> None:
    sig = infer_signature(np.zeros((3, 2)))
    assert sig.input_names == ["f0", "f1"]
    records = infer_signature([{"age": 3, "city": "x"}], pd.DataFrame({"p": [0.5]}))
    assert [(c.name, c.type) for c in records.inputs] == [("age", "long"), ("city", "string")]
    assert records.outputs == (ColSpec(type="double", name="p"),)


def test_round_trips_including_mlflow_form() -> None:
    sig = infer_signature(_frame(), np.array([0.1, 0.2]))
    assert Signature.from_dict(json.loads(json.dumps(sig.to_dict()))) == sig
    mlflow = sig.to_mlflow()
    assert json.loads(mlflow["inputs"])[0] == {"name": "d", "type": "double", "required": True}
    assert Signature.from_mlflow(mlflow) == sig


def test_unknown_type_and_bad_dict_are_rejected() -> None:
    with pytest.raises(ValidationFailed, match="unknown column type"):
        ColSpec(type="decimal", name="x")
    with pytest.raises(ValidationFailed, match="inputs"):
        Signature.from_dict({"outputs": []})


def test_validate_reports_missing_extra_and_wrong_type() -> None:
    specs = infer_signature(pd.DataFrame({"age": [1.0], "x": [2.0], "city": ["a"]})).inputs
    bad = pd.DataFrame({"x": ["oops"], "city": ["a"], "zip": [1]})
    assert validate_frame(bad, specs) == [
        {"field": "age", "error": "missing"},
        {"field": "x", "error": "expected double, got string"},
        {"field": "zip", "error": "unexpected (not in the signature)"},
    ]


def test_validate_coercions_and_nulls() -> None:
    specs = (
        ColSpec("double", "d"),
        ColSpec("long", "l"),
        ColSpec("string", "s"),
        ColSpec("string", "opt", required=False),
    )
    ok = pd.DataFrame(
        {"d": [1, 2], "l": [1.0, 2.0], "s": ["a", "b"]}
    )  # ints for double, whole floats
    assert validate_frame(ok, specs) == []
    coerced = coerce_frame(ok, specs)
    assert list(coerced.columns) == ["d", "l", "s", "opt"]
    assert coerced["d"].dtype == np.float64 and coerced["l"].dtype == np.int64
    assert coerced["opt"].isna().all()
    in_order = coerce_frame(pd.DataFrame({"l": [1.0, 2.0]}), (ColSpec("long", "l"),))
    assert in_order["l"].dtype == np.int64
    ready = pd.DataFrame({"d": [1.0], "l": [1]})
    assert coerce_frame(ready, (ColSpec("double", "d"), ColSpec("long", "l"))) is ready
    bad = pd.DataFrame({"d": [np.nan, 1.0], "l": [1.5, 2.0], "s": ["a", None], "opt": [None, "x"]})
    assert validate_frame(bad, specs) == [
        {"field": "l", "error": "expected long, got double"},
        {"field": "s", "error": "null values in a required column"},
    ]


def test_to_frame_accepts_records_arrays_and_checks_width() -> None:
    assert list(to_frame([{"a": 1, "b": 2}], ["a", "b"]).columns) == ["a", "b"]
    frame = to_frame(np.array([[1.0, 2.0]]), ["a", "b"])
    assert frame.to_dict("records") == [{"a": 1.0, "b": 2.0}]
    with pytest.raises(ValidationFailed, match="expected 2 columns"):
        to_frame(np.zeros((1, 3)), ["a", "b"])
