from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conveyor.errors import Conflict, IntegrityError, NotFound, ValidationFailed
from conveyor.models import (
    FLAVORS,
    MANIFEST_NAME,
    Flavor,
    LoadedModel,
    ModelManifest,
    Predictor,
    load_model,
    register_flavor,
    save_model,
)
from conveyor.models import flavors as flavor_registry

Data = tuple[pd.DataFrame, np.ndarray]


def _pipeline(data: Data) -> Any:
    frame, y = data
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income", "score"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    return make_pipeline(columns, LogisticRegression()).fit(frame, y)


# name -> (dataset fixture, trainer, expected flavor, has predict_proba)
CASES: dict[str, tuple[str, Callable[[Data], Any], str, bool]] = {
    "sklearn-rf": (
        "clf_data",
        lambda d: RandomForestClassifier(5, max_depth=4, random_state=0).fit(*d),
        "sklearn",
        True,
    ),
    "sklearn-hgb-strings": (
        "multi_data",
        lambda d: HistGradientBoostingClassifier(max_iter=5).fit(*d),
        "sklearn",
        True,
    ),
    "sklearn-gbr": (
        "reg_data",
        lambda d: GradientBoostingRegressor(n_estimators=5, random_state=0).fit(*d),
        "sklearn",
        False,
    ),
    "sklearn-array-logreg": (
        "clf_data",
        lambda d: LogisticRegression().fit(d[0].to_numpy(), d[1]),
        "sklearn",
        True,
    ),
    "sklearn-pipeline": ("mixed_data", _pipeline, "sklearn", True),
    "lightgbm-clf-strings": (
        "multi_data",
        lambda d: lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(*d),
        "lightgbm",
        True,
    ),
    "lightgbm-binary": (
        "clf_data",
        lambda d: lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(*d),
        "lightgbm",
        True,
    ),
    "lightgbm-reg": (
        "reg_data",
        lambda d: lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1).fit(*d),
        "lightgbm",
        False,
    ),
    "lightgbm-booster": (
        "reg_data",
        lambda d: lgb.train(
            {"verbose": -1, "num_threads": 1}, lgb.Dataset(d[0], d[1]), num_boost_round=5
        ),
        "lightgbm",
        False,
    ),
    "xgboost-clf": (
        "clf_data",
        lambda d: xgb.XGBClassifier(n_estimators=5, max_depth=3, n_jobs=1).fit(*d),
        "xgboost",
        True,
    ),
    "xgboost-reg": (
        "reg_data",
        lambda d: xgb.XGBRegressor(n_estimators=5, max_depth=3, n_jobs=1).fit(*d),
        "xgboost",
        False,
    ),
    "xgboost-booster": (
        "reg_data",
        lambda d: xgb.train(
            {"max_depth": 3, "nthread": 1}, xgb.DMatrix(d[0], d[1]), num_boost_round=5
        ),
        "xgboost",
        False,
    ),
}


def _native_predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    if isinstance(model, xgb.Booster):
        return np.asarray(model.predict(xgb.DMatrix(frame)))
    if isinstance(model, LogisticRegression) and not hasattr(model, "feature_names_in_"):
        return np.asarray(model.predict(frame.to_numpy()))
    return np.asarray(model.predict(frame))


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_predictions_equal(
    case: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    fixture, train, flavor, has_proba = CASES[case]
    data: Data = request.getfixturevalue(fixture)
    frame = data[0]
    model = train(data)
    manifest = save_model(model, tmp_path / "m", input_example=frame.head(3))
    assert manifest.flavor == flavor
    loaded = load_model(tmp_path / "m")
    assert loaded.flavor == flavor
    assert loaded.signature is not None
    assert loaded.signature.input_names == [str(c) for c in frame.columns]
    expected = _native_predict(model, frame)
    got = loaded.predict(frame)
    assert isinstance(got, np.ndarray)
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype
    if has_proba:
        proba = loaded.predict_proba(frame)
        native = model.predict_proba(frame.to_numpy() if case == "sklearn-array-logreg" else frame)
        np.testing.assert_allclose(proba, native, rtol=1e-6)
        assert loaded.classes is not None
        np.testing.assert_array_equal(loaded.classes, model.classes_)
    else:
        with pytest.raises(ValidationFailed, match="predict_proba"):
            loaded.predict_proba(frame)


def test_predict_accepts_frame_records_and_array(clf_data: Data, tmp_path: Path) -> None:
    frame, y = clf_data
    model = RandomForestClassifier(5, random_state=0).fit(frame, y)
    save_model(model, tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")
    expected = model.predict(frame)
    reordered = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(loaded.predict(reordered), expected)
    np.testing.assert_array_equal(loaded.predict(frame.to_dict("records")), expected)
    np.testing.assert_array_equal(loaded.predict(frame.to_numpy()), expected)
    assert isinstance(loaded.native, RandomForestClassifier)


def test_onnx_flavor_round_trip(clf_data: Data, tmp_path: Path) -> None:
    from skl2onnx import to_onnx

    frame, y = clf_data
    model = LogisticRegression().fit(frame.to_numpy(np.float32), y)
    proto = to_onnx(model, frame.to_numpy(np.float32)[:1], options={"zipmap": False})
    (tmp_path / "lr.onnx").write_bytes(proto.SerializeToString())
    for source, target in ((proto, "a"), (tmp_path / "lr.onnx", "b")):
        manifest = save_model(source, tmp_path / target, input_example=frame.head())
        assert manifest.flavor == "onnx"
        loaded = load_model(tmp_path / target)
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy()))
        np.testing.assert_allclose(
            loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()), atol=1e-5
        )


def test_manifest_contents_and_identity(clf_data: Data, tmp_path: Path) -> None:
    frame, y = clf_data
    model = RandomForestClassifier(3, random_state=0).fit(frame, y)
    manifest = save_model(
        model,
        tmp_path / "m",
        input_example=frame.head(2),
        metadata={"owner": "ana"},
        pip_requirements=["scikit-learn==1.9.1"],
    )
    raw = (tmp_path / "m" / MANIFEST_NAME).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == manifest.digest()
    assert ModelManifest.from_dict(json.loads(raw)) == manifest
    assert {f.path for f in manifest.files} == {"model.skops", "input_example.json"}
    for entry in manifest.files:
        data = (tmp_path / "m" / entry.path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry.sha256, entry.size)
    assert manifest.flavor_options["trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert {"scikit-learn", "skops", "numpy", "pandas"} <= set(manifest.packages)
    assert manifest.python_version and manifest.created.endswith("+00:00")
    assert manifest.metadata == {"owner": "ana"}
    assert manifest.pip_requirements == ["scikit-learn==1.9.1"]
    assert manifest.signature is not None
    assert manifest.signature["outputs"] == [{"type": "long", "required": True}]
    loaded = load_model(tmp_path / "m")
    example = loaded.input_example
    assert example is not None
    pd.testing.assert_frame_equal(example, frame.head(2).reset_index(drop=True))


def _saved(clf_data: Data, path: Path) -> ModelManifest:
    frame, y = clf_data
    model = RandomForestClassifier(3, random_state=0).fit(frame, y)
    return save_model(model, path, input_example=frame.head(2))


@pytest.mark.parametrize("which", ["model.skops", "input_example.json"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_changed_byte_is_refused(
    clf_data: Data, tmp_path: Path, which: str, where: str
) -> None:
    manifest = _saved(clf_data, tmp_path / "m")
    target = tmp_path / "m" / which
    data = bytearray(target.read_bytes())
    data[{"first": 0, "middle": len(data) // 2, "last": -1}[where]] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as info:
        load_model(tmp_path / "m")
    entry = manifest.file(which)
    assert info.value.details["file"] == which
    assert info.value.details["expected"] == entry.sha256
    assert info.value.details["actual"] == hashlib.sha256(bytes(data)).hexdigest()
    assert which in info.value.message and entry.sha256 in info.value.message


def test_missing_file_is_refused(clf_data: Data, tmp_path: Path) -> None:
    _saved(clf_data, tmp_path / "m")
    (tmp_path / "m" / "model.skops").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_model(tmp_path / "m")


def _rewrite_manifest(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / MANIFEST_NAME
    data = json.loads(path.read_bytes())
    change(data)
    path.write_text(json.dumps(data))


def _rehash(root: Path, data: dict[str, Any], name: str) -> None:
    blob = (root / name).read_bytes()
    for entry in data["files"]:
        if entry["path"] == name:
            entry["sha256"], entry["size"] = hashlib.sha256(blob).hexdigest(), len(blob)


def test_manifest_trusted_types_are_ignored(clf_data: Data, tmp_path: Path) -> None:
    """The manifest's list is informational: adding a dangerous type to it changes nothing
    for a benign file (and cannot make a malicious one load: tests/models/test_model_trust)."""
    root = tmp_path / "m"
    _saved(clf_data, root)
    _rewrite_manifest(
        root, lambda data: data["flavor_options"]["trusted_types"].append("builtins.eval")
    )
    assert load_model(root).predict(clf_data[0]).shape == (len(clf_data[0]),)


def test_unknown_flavor_and_newer_format(clf_data: Data, tmp_path: Path) -> None:
    root = tmp_path / "m"
    _saved(clf_data, root)
    _rewrite_manifest(root, lambda data: data.update(flavor="catboost"))
    with pytest.raises(ValidationFailed, match=r"unknown model flavor 'catboost'.*register"):
        load_model(root)
    _rewrite_manifest(root, lambda data: data.update(flavor="sklearn", format_version=99))
    with pytest.raises(ValidationFailed, match="upgrade"):
        load_model(root)


def test_unsafe_paths_in_manifest_are_refused(clf_data: Data, tmp_path: Path) -> None:
    root = tmp_path / "m"
    _saved(clf_data, root)
    _rewrite_manifest(root, lambda data: data["files"][0].update(path="../outside"))
    with pytest.raises(ValidationFailed, match=r"invalid model file path .*'..' segment"):
        load_model(root)


def test_save_refuses_non_empty_dir_and_load_needs_manifest(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(Conflict, match="not empty"):
        save_model(LogisticRegression(), tmp_path / "busy")
    with pytest.raises(NotFound, match=MANIFEST_NAME):
        load_model(tmp_path / "busy")
    with pytest.raises(ValidationFailed, match="no flavor can save"):
        save_model(object(), tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_validate_input_and_predict_errors(mixed_data: Data, tmp_path: Path) -> None:
    frame, _y = mixed_data
    save_model(_pipeline(mixed_data), tmp_path / "m", input_example=frame.head())
    loaded = load_model(tmp_path / "m")
    assert loaded.validate_input(frame) == []
    bad = frame.drop(columns=["age"]).assign(income="lots", extra=1)
    errors = loaded.validate_input(bad)
    assert errors == [
        {"field": "age", "error": "missing"},
        {"field": "income", "error": "expected double, got string"},
        {"field": "extra", "error": "unexpected (not in the signature)"},
    ]
    with pytest.raises(ValidationFailed) as info:
        loaded.predict(bad)
    assert info.value.details == {"errors": errors}
    ints = frame.assign(age=frame["age"].round().astype("int64"))
    assert loaded.validate_input(ints) == []
    assert len(loaded.predict(ints)) == len(frame)


def test_explicit_signature_must_match_example(clf_data: Data, tmp_path: Path) -> None:
    frame, y = clf_data
    model = RandomForestClassifier(2, random_state=0).fit(frame, y)
    signature = {"inputs": [{"name": "x0", "type": "string"}], "outputs": None}
    with pytest.raises(ValidationFailed, match="signature") as info:
        save_model(model, tmp_path / "m", input_example=frame[["x0"]], signature=signature)
    assert info.value.details["errors"][0]["field"] == "x0"
    assert not (tmp_path / "m").exists()


class ConstantPredictor(Predictor):
    def __init__(self, value: float) -> None:
        self.value = value

    @property
    def native(self) -> float:
        return self.value

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.value)


class ConstantFlavor(Flavor):
    """A third-party flavor: a float saved as text."""

    name = "constant"

    def detect(self, model: Any) -> bool:
        return isinstance(model, float)

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        (path / "value.txt").write_text(repr(model))
        return {"file": "value.txt"}

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        return ConstantPredictor(float((path / options["file"]).read_text()))


def test_third_party_flavor_registers_like_builtins(tmp_path: Path) -> None:
    register_flavor("constant", f"{__name__}:ConstantFlavor", first=True)
    try:
        assert next(iter(FLAVORS)) == "constant"
        manifest = save_model(2.5, tmp_path / "m", input_example=pd.DataFrame({"a": [1.0]}))
        assert manifest.flavor == "constant"
        loaded = load_model(tmp_path / "m")
        assert isinstance(loaded, LoadedModel)
        np.testing.assert_array_equal(loaded.predict([{"a": 3.0}, {"a": 4.0}]), [2.5, 2.5])
    finally:
        FLAVORS.pop("constant")
        flavor_registry._LOADED.pop("constant", None)
    with pytest.raises(ValidationFailed, match="module:Class"):
        register_flavor("bad", "no_colon")


def test_flavor_file_must_be_listed_in_manifest(clf_data: Data, tmp_path: Path) -> None:
    root = tmp_path / "m"
    _saved(clf_data, root)
    (root / "other.skops").write_bytes((root / "model.skops").read_bytes())
    _rewrite_manifest(root, lambda data: data["flavor_options"].update(file="other.skops"))
    with pytest.raises(IntegrityError, match=r"other\.skops") as info:
        load_model(root)
    assert info.value.details["file"] == "other.skops"
    _rewrite_manifest(
        root,
        lambda data: data.update(input_example="other.skops", flavor_options={"file": "x"}),
    )
    with pytest.raises(ValidationFailed, match="not a listed file"):
        load_model(root)
