from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conveyor.errors import ValidationFailed
from conveyor.models import (
    CompiledModel,
    LoadedModel,
    PythonModel,
    PythonModelContext,
    compile_to_onnx,
    load_model,
    parity_check,
    save_model,
)

Data = tuple[pd.DataFrame, np.ndarray]

CASES: dict[str, tuple[str, Callable[[Data], Any]]] = {
    "rf-classifier": (
        "clf_data",
        lambda d: RandomForestClassifier(10, max_depth=5, random_state=0).fit(*d),
    ),
    "gb-regressor": (
        "reg_data",
        lambda d: GradientBoostingRegressor(n_estimators=10, random_state=0).fit(*d),
    ),
    "lightgbm-multiclass-strings": (
        "multi_data",
        lambda d: lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(*d),
    ),
    "lightgbm-binary": (
        "clf_data",
        lambda d: lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(*d),
    ),
    "lightgbm-regressor": (
        "reg_data",
        lambda d: lgb.LGBMRegressor(n_estimators=10, verbose=-1, n_jobs=1).fit(*d),
    ),
    "xgboost-classifier": (
        "clf_data",
        lambda d: xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(*d),
    ),
    "xgboost-regressor": (
        "reg_data",
        lambda d: xgb.XGBRegressor(n_estimators=10, max_depth=3, n_jobs=1).fit(*d),
    ),
}


def _load(model: Any, frame: pd.DataFrame, root: Path) -> LoadedModel:
    save_model(model, root, input_example=frame.head(3))
    return load_model(root)


@pytest.mark.parametrize("case", list(CASES))
def test_compile_and_parity_pass(case: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    fixture, train = CASES[case]
    data: Data = request.getfixturevalue(fixture)
    frame = data[0]
    loaded = _load(train(data), frame, tmp_path / "m")
    reasons: list[str] = []
    compiled = compile_to_onnx(loaded, frame.head(10), reasons=reasons)
    assert compiled is not None, reasons
    report = parity_check(loaded, compiled, frame)
    assert report.passed, report
    assert report.rows == len(frame)
    native = np.asarray(loaded.predict(frame))
    fast = compiled.predict_array(frame.to_numpy(np.float32))
    if loaded.classes is not None:
        assert report.kind == "classifier" and report.label_agreement == 1.0
        assert fast.dtype == native.dtype  # classes, not indices
        np.testing.assert_array_equal(fast, native)
        proba = compiled.predict_proba_array(frame.to_numpy(np.float32))
        np.testing.assert_allclose(proba, loaded.predict_proba(frame), atol=1e-4)
    else:
        assert report.kind == "regressor" and report.label_agreement is None
        np.testing.assert_allclose(fast, native, rtol=1e-4, atol=1e-3)
    single = compiled.predict_array(frame.to_numpy(np.float32)[:1])
    assert single.shape == (1,) and single[0] == fast[0]
    again = CompiledModel.from_bytes(compiled.to_bytes())
    np.testing.assert_array_equal(again.predict(frame), compiled.predict(frame))


def test_pipeline_with_strings_compiles_per_column(mixed_data: Data, tmp_path: Path) -> None:
    frame, y = mixed_data
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income", "score"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression()).fit(frame, y)
    loaded = _load(model, frame, tmp_path / "m")
    compiled = compile_to_onnx(loaded, frame.head())
    assert compiled is not None and compiled.per_column is not None
    assert parity_check(loaded, compiled, frame).passed
    np.testing.assert_array_equal(compiled.predict(frame), model.predict(frame))
    with pytest.raises(ValidationFailed, match="use predict"):
        compiled.predict_array(frame[["age", "income", "score"]].to_numpy(np.float32))


def test_parity_failures_are_reported(clf_data: Data, tmp_path: Path) -> None:
    frame, y = clf_data
    loaded = _load(RandomForestClassifier(10, random_state=0).fit(frame, y), frame, tmp_path / "a")
    other = _load(
        RandomForestClassifier(10, random_state=0).fit(frame, 1 - y), frame, tmp_path / "b"
    )
    wrong = compile_to_onnx(other, frame.head())
    assert wrong is not None
    report = parity_check(loaded, wrong, frame)
    assert not report.passed
    assert report.agreement < 0.5 and any("agreement" in f for f in report.failures)
    own = compile_to_onnx(loaded, frame.head())
    assert own is not None
    strict = parity_check(loaded, own, frame, max_abs_diff=0.0, min_agreement=1.0)
    assert report.to_dict()["passed"] is False
    assert strict.max_abs_diff > 0  # float32 rounding shows up in the probabilities
    assert not strict.passed and strict.failures[0].startswith("max difference")


class Echo(PythonModel):
    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return model_input["x"].to_numpy()


def test_no_converter_returns_none_with_reason(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    loaded = _load(Echo(), frame, tmp_path / "m")
    reasons: list[str] = []
    assert compile_to_onnx(loaded, frame, reasons=reasons) is None
    assert reasons == ["no ONNX converter for flavor 'pyfunc'"]


def test_raw_classification_booster_is_not_compiled(clf_data: Data, tmp_path: Path) -> None:
    frame, y = clf_data
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(frame, y),
        num_boost_round=5,
    )
    loaded = _load(booster, frame, tmp_path / "m")
    reasons: list[str] = []
    assert compile_to_onnx(loaded, frame.head(), reasons=reasons) is None
    assert "LGBMClassifier" in reasons[0]
