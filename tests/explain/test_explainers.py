"""Our explanations equal shap's own output on the same data, and add up: the base value
plus the contributions is the model's output (probability, margin or prediction)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

shap = pytest.importorskip("shap")  # the [explain] extra; part of dev

from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.svm import SVR  # noqa: E402

from conveyor.errors import ValidationFailed  # noqa: E402
from conveyor.explain.explainers import Unsupported, make_explainer  # noqa: E402

FEATURES = ["f0", "f1", "f2", "f3"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    y_cls = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] > 0).astype(int)
    y_reg = 2 * X[:, 0] - X[:, 3] + rng.normal(scale=0.1, size=300)
    return X, y_cls, y_reg


def _check(explainer: Any, X: np.ndarray, reference: Any, expected_out: np.ndarray) -> None:
    result = explainer.explain(X)
    ours = result.contributions
    theirs = np.asarray(reference)
    theirs = theirs[:, :, None] if theirs.ndim == 2 else theirs
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    out = expected_out.reshape(len(X), -1)
    np.testing.assert_allclose(result.output_values, out, rtol=1e-5, atol=1e-6)


def test_random_forest_classifier_probabilities(data: Any) -> None:
    X, y, _ = data
    model = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0).fit(X, y)
    explainer = make_explainer(model, flavor="sklearn", features=FEATURES)
    assert (explainer.method, explainer.output, explainer.outputs) == (
        "tree",
        "probability",
        ["0", "1"],
    )
    reference = shap.TreeExplainer(model).shap_values(X[:20])
    _check(explainer, X[:20], reference, model.predict_proba(X[:20]))


def test_forest_regressor_and_boosted_margin(data: Any) -> None:
    X, y, y_reg = data
    forest = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y_reg)
    ex = make_explainer(forest, flavor="sklearn", features=FEATURES)
    assert ex.output == "prediction"
    _check(ex, X[:10], shap.TreeExplainer(forest).shap_values(X[:10]), forest.predict(X[:10]))
    gbm = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    ex = make_explainer(gbm, flavor="sklearn", features=FEATURES)
    assert ex.output == "margin"
    _check(ex, X[:10], shap.TreeExplainer(gbm).shap_values(X[:10]), gbm.decision_function(X[:10]))


def test_lightgbm_and_xgboost(data: Any) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    xgboost = pytest.importorskip("xgboost")
    X, y, _ = data
    lgbm = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    booster = lgbm.booster_
    ex = make_explainer(booster, flavor="lightgbm", features=FEATURES, classes=[0, 1])
    assert (ex.method, ex.output) == ("tree", "margin")
    raw = booster.predict(X[:10], raw_score=True)
    _check(ex, X[:10], shap.TreeExplainer(booster)(X[:10]).values, raw)
    xgb = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    ex = make_explainer(xgb, flavor="xgboost", features=FEATURES)
    margin = xgb.predict(X[:10], output_margin=True)
    _check(ex, X[:10], shap.TreeExplainer(xgb).shap_values(X[:10]), margin)


def test_linear_models_against_background(data: Any) -> None:
    X, y, y_reg = data
    lin = LinearRegression().fit(X, y_reg)
    ex = make_explainer(lin, flavor="sklearn", features=FEATURES, background=X[:100])
    assert (ex.method, ex.output) == ("linear", "prediction")
    reference = shap.LinearExplainer(lin, X[:100]).shap_values(X[:10])
    _check(ex, X[:10], reference, lin.predict(X[:10]))
    logit = LogisticRegression().fit(X, y)
    ex = make_explainer(logit, flavor="sklearn", features=FEATURES, background=X[:100])
    assert ex.output == "margin"
    reference = shap.LinearExplainer(logit, X[:100]).shap_values(X[:10])
    _check(ex, X[:10], reference, logit.decision_function(X[:10]))
    with pytest.raises(Unsupported, match="background data"):
        make_explainer(lin, flavor="sklearn", features=FEATURES)


def test_kernel_fallback_is_additive(data: Any) -> None:
    X, _, y_reg = data
    model = SVR().fit(X[:100], y_reg[:100])
    ex = make_explainer(
        object(), flavor="pyfunc", features=FEATURES, background=X[:20], predict=model.predict,
        black_box="kernel",
    )  # fmt: skip
    assert (ex.method, ex.output) == ("kernel", "prediction")
    result = ex.explain(X[:3])
    np.testing.assert_allclose(result.output_values[:, 0], model.predict(X[:3]), rtol=1e-6)


def test_lime_fallback_signs_follow_a_known_linear_function(data: Any) -> None:
    """LIME (the default black-box method) explains a pyfunc's predict: contributions carry
    the sign of coefficient times distance from the background mean; a classifier's per class."""
    pytest.importorskip("lime")
    X, y_cls, _ = data
    coef = np.array([2.0, -3.0, 0.0, 0.5])

    def linear(x: np.ndarray) -> np.ndarray:
        return x @ coef + 1.0

    background = X[:50]
    ex = make_explainer(object(), flavor="pyfunc", features=FEATURES, background=background,
                        predict=linear)  # fmt: skip
    assert (ex.method, ex.output, ex.outputs) == ("lime", "prediction", ["prediction"])
    rows = X[100:104]
    result = ex.explain(rows)
    deviation = (rows - background.mean(axis=0)) * coef
    big = np.abs(deviation) > 0.1
    assert np.array_equal(np.sign(result.contributions[:, :, 0])[big], np.sign(deviation)[big])
    np.testing.assert_allclose(result.output_values[:, 0], linear(rows), atol=0.2)
    assert np.array_equal(ex.explain(rows).contributions, result.contributions)  # seeded
    assert ex.explain(rows).to_dict()["method"] == "lime"

    logit = LogisticRegression().fit(X, y_cls)
    ex = make_explainer(object(), flavor="pyfunc", features=FEATURES, background=background,
                        predict=logit.predict_proba, classes=[0, 1])  # fmt: skip
    assert (ex.method, ex.output, ex.outputs) == ("lime", "probability", ["0", "1"])
    values = ex.explain(X[100:101]).contributions[0]  # (features, classes)
    push = (X[100] - background.mean(axis=0)) * logit.coef_[0]
    strongest = int(np.argmax(np.abs(push)))
    assert (
        np.sign(values[strongest, 1]) == np.sign(push[strongest]) == -np.sign(values[strongest, 0])
    )


def test_black_box_refusals_say_why(data: Any) -> None:
    X, _, _ = data
    with pytest.raises(Unsupported, match="sampling around background data"):
        make_explainer(object(), flavor="pyfunc", features=FEATURES, predict=np.sum)
    with pytest.raises(ValidationFailed, match="unknown black-box method 'anchors'"):
        make_explainer(object(), flavor="pyfunc", features=FEATURES, background=X[:5],
                       predict=np.sum, black_box="anchors")  # fmt: skip


def test_unsupported_models_say_what_is_covered(data: Any) -> None:
    X, _, y_reg = data
    with pytest.raises(Unsupported, match=r"cannot explain a sklearn model of type sklearn\.svm"):
        make_explainer(SVR().fit(X, y_reg), flavor="sklearn", features=FEATURES)
    with pytest.raises(Unsupported, match="onnx"):
        make_explainer(object(), flavor="onnx", features=FEATURES)


def test_rows_json_shape(data: Any) -> None:
    X, _, y_reg = data
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y_reg)
    ex = make_explainer(forest, flavor="sklearn", features=FEATURES)
    row = ex.explain(X[:1]).to_dict()["rows"][0]
    assert set(row["contributions"]) == set(FEATURES)
    total = row["base_value"] + sum(row["contributions"].values())
    assert (
        total
        == pytest.approx(row["output_value"])
        == pytest.approx(float(forest.predict(X[:1])[0]))
    )
    with pytest.raises(ValidationFailed, match="expected rows of 4 features"):
        ex.explain(X[:1, :3])
