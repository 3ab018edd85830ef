from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conveyor.config import reset_settings
from conveyor.errors import IntegrityError, PermissionDenied, ValidationFailed
from conveyor.models import PythonModel, PythonModelContext, load_model, save_model


class Scaler(PythonModel):
    """JSON-able state plus an artifact: stored without pickle."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def load_context(self, context: PythonModelContext) -> None:
        self.factor = float(context.artifacts["factor"].read_text())

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return model_input["x"].to_numpy() * self.factor + self.offset


class Lookup(PythonModel):
    """Holds a numpy array: cannot be stored as JSON, so it needs pickle."""

    def __init__(self) -> None:
        self.table = np.array([10.0, 20.0, 30.0])

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return self.table[model_input["i"].to_numpy()]

    def predict_proba(self, context: PythonModelContext, model_input: Any) -> Any:
        return np.tile([0.25, 0.75], (len(model_input), 1))


def _scaler(tmp_path: Path) -> Path:
    (tmp_path / "factor.txt").write_text("3")
    save_model(
        Scaler(offset=1.0),
        tmp_path / "m",
        artifacts={"factor": tmp_path / "factor.txt"},
        input_example=pd.DataFrame({"x": [1.0, 2.0]}),
    )
    return tmp_path / "m"


def test_json_state_model_needs_no_pickle(tmp_path: Path) -> None:
    root = _scaler(tmp_path)
    manifest = load_model(root, allow_pickle=False).manifest
    assert manifest.flavor == "pyfunc"
    assert manifest.flavor_options["python_model"] == f"{__name__}:Scaler"
    assert manifest.flavor_options["state"] == {"offset": 1.0}
    assert "pickle" not in manifest.flavor_options
    assert {f.path for f in manifest.files} == {"artifacts/factor/factor.txt", "input_example.json"}
    loaded = load_model(root)
    np.testing.assert_array_equal(loaded.predict(pd.DataFrame({"x": [2.0, 4.0]})), [7.0, 13.0])
    assert loaded.signature is not None and loaded.signature.input_names == ["x"]
    with pytest.raises(ValidationFailed, match="predict_proba"):
        loaded.predict_proba(pd.DataFrame({"x": [1.0]}))


def test_changed_artifact_is_refused(tmp_path: Path) -> None:
    root = _scaler(tmp_path)
    (root / "artifacts" / "factor" / "factor.txt").write_text("4")
    with pytest.raises(IntegrityError, match=r"factor\.txt"):
        load_model(root)


def test_pickled_model_needs_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"i": [0, 2]})
    manifest = save_model(Lookup(), tmp_path / "m", input_example=frame)
    assert manifest.flavor_options["pickle"] == "python_model.pkl"
    with pytest.raises(PermissionDenied, match="CONVEYOR_ALLOW_PICKLE=1") as info:
        load_model(tmp_path / "m")
    assert "allow_pickle=True" in info.value.message
    loaded = load_model(tmp_path / "m", allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(frame), [10.0, 30.0])
    np.testing.assert_array_equal(loaded.predict_proba(frame), [[0.25, 0.75]] * 2)
    monkeypatch.setenv("CONVEYOR_ALLOW_PICKLE", "1")
    reset_settings()
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(frame), [10.0, 30.0])
    with pytest.raises(PermissionDenied):
        load_model(tmp_path / "m", allow_pickle=False)


def test_class_must_be_importable(tmp_path: Path) -> None:
    class Local(PythonModel):
        def predict(self, context: PythonModelContext, model_input: Any) -> Any:
            return model_input

    with pytest.raises(ValidationFailed, match="top level of a module"):
        save_model(Local(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_artifacts_only_for_pyfunc(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValidationFailed, match="artifacts="):
        save_model(model, tmp_path / "m", artifacts={"a": tmp_path})


class Days(PythonModel):
    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        return (model_input["when"] - pd.Timestamp("2026-01-01")).dt.days.to_numpy()


def test_datetime_example_round_trips(tmp_path: Path) -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2026-01-02", "2026-01-11"])})
    manifest = save_model(Days(), tmp_path / "m", input_example=frame)
    assert manifest.signature is not None
    assert manifest.signature["inputs"] == [{"name": "when", "type": "datetime", "required": True}]
    loaded = load_model(tmp_path / "m")
    example = loaded.input_example
    assert example is not None and loaded.validate_input(example) == []
    np.testing.assert_array_equal(loaded.predict(example), [1, 10])
