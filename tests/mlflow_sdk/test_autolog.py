"""conveyor.autolog(): scikit-learn, LightGBM and XGBoost trainings log params, training
metrics, the model with its signature and the input dataset; disable restores the originals."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import conveyor
from conveyor.errors import ValidationFailed


@pytest.fixture(autouse=True)
def autolog_off() -> Iterator[None]:
    yield
    conveyor.autolog(disable=True)


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return X, (X["a"] + X["b"] > 0).astype(int)


def _only_run() -> conveyor.ActiveRun:
    (run,) = conveyor.search_runs(search_all_experiments=True)
    return run


def test_sklearn_fit_logs_a_run_and_disable_restores(data) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    original = RandomForestClassifier.fit
    conveyor.autolog()
    assert RandomForestClassifier.fit is not original
    RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    run = _only_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["n_estimators"] == "5" and run.data.params["max_depth"] == "3"
    assert 0.5 < run.data.metrics["training_accuracy_score"] <= 1.0
    assert {"training_f1_score", "training_score"} <= set(run.data.metrics)
    version = conveyor.register_model(f"runs:/{run.id}/model", "auto-rf")
    assert [c["name"] for c in version.signature["inputs"]] == ["a", "b"]
    assert run.inputs and run.inputs[0]["context"] == "training"
    model = conveyor.load_model(f"runs:/{run.id}/model")
    assert len(model.predict(X[:4])) == 4

    # a pipeline logs once (its steps' fits are nested), into the active run
    with conveyor.start_run() as active:
        Pipeline([("s", StandardScaler()), ("m", RandomForestClassifier(n_estimators=3))]).fit(X, y)
    assert len(conveyor.search_runs(search_all_experiments=True)) == 2
    assert "m__n_estimators" in conveyor.get_run(active.id).params

    conveyor.autolog(disable=True)
    assert RandomForestClassifier.fit is original
    RandomForestClassifier(n_estimators=2).fit(X, y)
    assert len(conveyor.search_runs(search_all_experiments=True)) == 2


def test_regressor_metrics_and_options(data) -> None:
    from sklearn.linear_model import Ridge

    X, _ = data
    conveyor.autolog(log_models=False, log_datasets=False, extra_tags={"team": "ml"})
    Ridge(alpha=0.5).fit(X, X["a"] * 2)
    run = _only_run()
    assert run.data.tags["team"] == "ml" and run.data.params["alpha"] == "0.5"
    assert run.data.metrics["training_r2_score"] > 0.9
    assert "training_root_mean_squared_error" in run.data.metrics
    assert not conveyor.connect().list_artifacts(run.id) and not run.inputs


def test_failed_fit_marks_the_run_failed(data) -> None:
    from sklearn.linear_model import LogisticRegression

    conveyor.autolog()
    with pytest.raises(ValueError):
        LogisticRegression().fit([[1.0], [2.0]], [0, 0, 1])
    assert _only_run().status == "FAILED"


def test_lightgbm_train_and_sklearn_api(data) -> None:
    import lightgbm

    X, y = data
    conveyor.autolog()
    train = lightgbm.Dataset(X, y)
    valid = lightgbm.Dataset(X, y, reference=train)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4}
    lightgbm.train(params, train, num_boost_round=5, valid_sets=[valid], valid_names=["valid"])
    run = _only_run()
    assert run.data.params["num_leaves"] == "4" and run.data.params["num_boost_round"] == "5"
    history = conveyor.get_metric_history(run.id, "valid-binary_logloss")
    assert [p.step for p in history] == [0, 1, 2, 3, 4]
    model = conveyor.load_model(f"runs:/{run.id}/model")
    assert len(model.predict(X[:3])) == 3

    lightgbm.LGBMClassifier(n_estimators=4, verbose=-1).fit(X, y)
    runs = conveyor.search_runs(search_all_experiments=True)
    assert len(runs) == 2  # the sklearn wrapper logged once, not also its inner train()
    sk_run = next(r for r in runs if r.id != run.id)
    assert sk_run.data.params["n_estimators"] == "4"
    assert "training_accuracy_score" in sk_run.data.metrics


def test_xgboost_train_and_sklearn_api(data) -> None:
    import xgboost

    X, y = data
    conveyor.autolog()
    dtrain = xgboost.DMatrix(X, label=y)
    xgboost.train({"max_depth": 2}, dtrain, num_boost_round=3, evals=[(dtrain, "train")])
    run = _only_run()
    assert run.data.params["max_depth"] == "2"
    assert [p.step for p in conveyor.get_metric_history(run.id, "train-rmse")] == [0, 1, 2]
    model = conveyor.load_model(f"runs:/{run.id}/model")
    assert len(model.predict(X[:3])) == 3

    xgboost.XGBRegressor(n_estimators=3).fit(X, X["a"])
    runs = conveyor.search_runs(search_all_experiments=True)
    assert len(runs) == 2
    assert "training_r2_score" in next(r for r in runs if r.id != run.id).data.metrics


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"log_model_signatures": False}, "always records one"),
        ({"log_traces": True}, "no tracing"),
        ({"exclude_flavors": ["torch"]}, "unknown flavors"),
    ],
)
def test_autolog_refuses_what_it_cannot_honour(kwargs, hint) -> None:
    with pytest.raises(ValidationFailed, match=hint):
        conveyor.autolog(**kwargs)


def test_exclusive_and_registered_model_name(data) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = data
    conveyor.autolog(exclusive=True, registered_model_name="auto-tree", log_input_examples=True)
    with conveyor.start_run() as mine:
        DecisionTreeClassifier(max_depth=2).fit(X, y)  # exclusive: not logged into my run
    assert conveyor.get_run(mine.id).params == {}
    DecisionTreeClassifier(max_depth=2).fit(X, y)  # its own run, registered
    version = conveyor.get_model_version("auto-tree", "latest")
    assert version.version == 1 and version.run_id != mine.id
    assert conveyor.load_model("models:/auto-tree/1").manifest.input_example
