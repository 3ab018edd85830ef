"""Deploy-time compilation: ONNX with parity for a random forest, native with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression

import conveyor
from conveyor.deployments.runtime import build_route_table
from conveyor.errors import IntegrityError, NotFound
from conveyor.models import CompiledModel, infer_signature

from .conftest import register
from .helpers import corrupt_blob, log_and_register


def test_random_forest_compiles_to_onnx_with_parity_recorded(
    home_backend: Any,
    forests: list[RandomForestClassifier],
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, _ = clf_data
    version = log_and_register(forests[0], "churn", X.head(20))
    rev = home_backend.deploy("churn-api", model=f"churn/{version}")
    result = rev.compiled[f"churn/{version}"]
    assert result.status == "onnx", result.reason
    assert result.parity is not None and result.parity["passed"]
    assert result.parity["agreement"] == 1.0 and result.parity["max_abs_diff"] <= 1e-4
    assert result.parity["rows"] == 20
    onnx_bytes = home_backend.artifacts.read_bytes(result.onnx_sha256)  # verified by sha256
    compiled = CompiledModel.from_bytes(onnx_bytes)
    assert (compiled.predict(X) == forests[0].predict(X)).all()

    # cached per model version: a second endpoint reuses the result, no recompilation
    again = home_backend.deploy("churn-api-2", model="churn/latest")
    assert again.compiled[f"churn/{version}"] == result
    events = home_backend.list_audit_events(action="model_version.compile")
    assert [e.object_id for e in events] == [f"churn/{version}"]


def test_models_without_converter_or_example_are_served_natively(
    home_backend: Any,
    isotonic: IsotonicRegression,
    forests: list[RandomForestClassifier],
    clf_data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, _ = clf_data
    log_and_register(isotonic, "iso", X[["f0"]].head(10))
    rev = home_backend.deploy("iso-api", model="iso/1")
    result = rev.compiled["iso/1"]
    assert result.status == "native" and result.onnx_sha256 is None
    assert "conversion failed" in result.reason and "IsotonicRegression" in result.reason

    # a signature but no input example: nothing to check ONNX parity with
    with conveyor.start_run():
        conveyor.log_model(
            forests[1], "model", signature=infer_signature(X), registered_model_name="bare"
        )
    rev = home_backend.deploy("bare-api", model="bare/1", compile=True)
    assert rev.compiled["bare/1"].status == "native"
    assert "no input example" in rev.compiled["bare/1"].reason


def test_no_compile_records_pending(home_backend: Any, forests: list[Any], clf_data: Any) -> None:
    log_and_register(forests[1], "quick", clf_data[0].head(5))
    rev = home_backend.deploy("quick-api", model="quick/1", compile=False)
    assert rev.compiled["quick/1"].status == "pending"


def test_a_deploy_refuses_a_corrupted_compiled_blob(
    home_backend: Any, forests: list[Any], clf_data: Any
) -> None:
    log_and_register(forests[1], "churn", clf_data[0].head(5))
    first = home_backend.deploy("a", model="churn/1")
    sha = first.compiled["churn/1"].onnx_sha256
    assert sha is not None
    corrupt_blob(home_backend.artifacts, sha)
    with pytest.raises(IntegrityError, match=r"compiled ONNX of churn/1 .* is corrupted"):
        home_backend.deploy("b", model="churn/1")
    assert [d.name for d in home_backend.list_deployments()] == ["a"]  # nothing written
    blob = corrupt_blob(home_backend.artifacts, sha)
    blob.unlink()
    with pytest.raises(NotFound, match=r"compiled ONNX of churn/1 .* is missing"):
        home_backend.deploy("b", model="churn/1")


def test_validation_data_replaces_the_input_example(
    home_backend: Any, forests: list[Any], clf_data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    X, y = clf_data
    log_and_register(forests[1], "churn", X.head(5))
    rev = home_backend.deploy("ep", model="churn/1", validation_data=X.assign(label=y))
    parity = rev.compiled["churn/1"].parity
    assert parity is not None and parity["rows"] == len(X) and parity["passed"]


def test_compile_cache_and_route_table_on_each_store(
    backend: Any, forests: list[Any], clf_data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    X, _ = clf_data
    register(backend, "churn", forests[0], X.head(10), tmp_path)
    first = backend.deploy("a", model="churn/1")
    second = backend.deploy("b", model="churn/1", shadow="churn/1")
    assert first.compiled["churn/1"].status == "onnx"
    assert second.compiled == first.compiled
    assert len(backend.list_audit_events(action="model_version.compile")) == 1
    table = build_route_table(backend, second)
    labels = table.primary.predictor.predict_matrix(X.to_numpy(np.float32))
    assert (labels == forests[0].predict(X)).all()
