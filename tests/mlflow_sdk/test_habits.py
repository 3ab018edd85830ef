"""MLflow 3 spellings in Conveyor's fluent SDK: log_model(name=), start_run(run_id=),
search_runs(experiment_ids=, output_format="pandas"), run.info / run.data, and a clear
error (never a TypeError) for what Conveyor cannot honour."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.errors import Conflict, ValidationFailed


@pytest.fixture
def model_and_data() -> tuple[LogisticRegression, pd.DataFrame]:
    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    y = (X["a"] > 9).astype(int)
    return LogisticRegression().fit(X, y), X


def test_log_model_takes_name_and_deprecated_artifact_path(model_and_data) -> None:
    model, X = model_and_data
    with conveyor.start_run() as run:
        info = conveyor.log_model(model, name="model", input_example=X[:3])
        with pytest.warns(DeprecationWarning, match="use name="):
            old = conveyor.log_model(model, artifact_path="legacy")
        with pytest.raises(ValidationFailed, match="disagrees"):
            conveyor.log_model(model, name="a", artifact_path="b")
    assert info.name == info.artifact_path == "model"
    assert info.model_uri == f"runs:/{run.id}/model"
    assert old.model_uri == f"runs:/{run.id}/legacy"
    loaded = conveyor.load_model(info.model_uri)
    assert list(loaded.predict(X[:3])) == list(model.predict(X[:3]))


@pytest.mark.parametrize(
    ("kwarg", "hint"),
    [
        ("conda_env", "pip_requirements"),
        ("code_paths", "install your code"),
        ("serialization_format", "never pickles"),
        ("params", "log_params"),
        ("tags", "metadata="),
        ("model_type", "metadata="),
        ("step", "not tied to a step"),
        ("model_id", "runs:/<run_id>/<name>"),
        ("pyfunc_predict_fn", "predict_proba"),
        ("prompts", "not supported"),
        ("resources", "deploy time"),
        ("auth_policy", "permissions"),
        ("python_model", "first argument"),
        ("no_such_option", "unknown keyword"),
    ],
)
def test_log_model_refuses_mlflow_only_kwargs_clearly(model_and_data, kwarg, hint) -> None:
    model, _ = model_and_data
    with pytest.raises(ValidationFailed, match=hint):
        conveyor.log_model(model, name="model", **{kwarg: "x"})
    assert conveyor.active_run() is None  # bad input starts no run


def test_log_model_accepts_what_means_the_same(model_and_data) -> None:
    model, _ = model_and_data
    with conveyor.start_run():
        info = conveyor.log_model(
            model,
            name="model",
            extra_pip_requirements=["scikit-learn"],
            await_registration_for=300,
            registered_model_name="habits",
        )
    assert info.registered_model_version == 1


def test_start_run_resumes_a_running_run_and_refuses_an_ended_one() -> None:
    conveyor.set_experiment("resume")
    first = conveyor.start_run(run_name="crashy")
    conveyor.log_param("lr", 0.1)
    conveyor.log_metric("loss", 1.0, step=0)
    first.buffer.flush()
    conveyor.tracking.fluent.reset()  # the process "crashed": nothing active, run RUNNING
    with conveyor.start_run(run_id=first.id, tags={"resumed": "yes"}) as again:
        assert again.info.run_id == first.id
        conveyor.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(Conflict, match="immutable"):
            conveyor.log_param("lr", 0.2)
        conveyor.log_metric("loss", 0.5, step=1)
    run = conveyor.get_run(first.id)
    assert run.info.status == "FINISHED" and run.data.tags["resumed"] == "yes"
    assert [p.value for p in conveyor.get_metric_history(first.id, "loss")] == [1.0, 0.5]
    with pytest.raises(Conflict, match="does not reopen an ended run"):
        conveyor.start_run(run_id=first.id)
    second = conveyor.start_run(run_name="other")
    conveyor.tracking.fluent.reset()
    with pytest.raises(ValidationFailed, match="run names cannot change"):
        conveyor.start_run(run_id=second.id, run_name="renamed")


def test_start_run_mlflow_keywords() -> None:
    exp = conveyor.set_experiment("by-id")
    with conveyor.start_run(experiment_id=exp.id, description="note") as run:
        assert run.info.experiment_id == exp.id
    with conveyor.start_run(experiment_id=exp.id) as parent:
        pass
    with conveyor.start_run(parent_run_id=parent.id) as child:
        pass
    assert conveyor.get_run(child.id).parent_run_id == parent.id
    with pytest.raises(ValidationFailed, match="log_system_metrics"):
        conveyor.start_run(log_system_metrics=True)
    with pytest.raises(ValidationFailed, match="not both"):
        conveyor.start_run(experiment="a", experiment_id="b")


def test_run_info_and_data() -> None:
    conveyor.set_experiment("info")
    with conveyor.start_run(run_name="r") as active:
        conveyor.log_params({"a": 1})
        conveyor.log_metric("m", 2.0)
        conveyor.set_tag("t", "v")
        assert active.data.params == {"a": "1"}  # flushed on access
    run = conveyor.get_run(active.id)
    assert run.info.run_id == run.info.run_uuid == active.info.run_id == run.run_id
    assert run.info.run_name == "r" and run.info.lifecycle_stage == "active"
    assert (run.data.metrics, run.data.params, run.data.tags) == (
        {"m": 2.0},
        {"a": "1"},
        {"t": "v"},
    )


def test_search_runs_mlflow_arguments_and_pandas_frame() -> None:
    exp = conveyor.set_experiment("search")
    for i, model in enumerate(["rf", "lr", "rf"]):
        with conveyor.start_run(run_name=f"r{i}"):
            conveyor.log_params({"model": model})
            conveyor.log_metrics({"x": -12.5 + i, "nan": math.nan})
            conveyor.set_tag("i", str(i))
    conveyor.set_experiment("other")
    with conveyor.start_run():
        conveyor.log_metric("x", 100.0)

    frame = conveyor.search_runs(
        experiment_ids=[exp.id],
        filter_string="metrics.x > -12.0 and params.model = 'rf'",
        order_by=["metrics.x DESC"],
        max_results=10,
        output_format="pandas",
    )
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert {"metrics.x", "metrics.nan", "params.model", "tags.i"} <= set(frame.columns)
    assert frame["metrics.x"].tolist() == [-10.5]
    assert frame["status"].tolist() == ["FINISHED"] and frame["experiment_id"][0] == exp.id
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert math.isnan(frame["metrics.nan"][0])

    by_name = conveyor.search_runs(experiment_names=["search"], order_by="metrics.x ASC")
    assert [r.data.metrics["x"] for r in by_name] == [-12.5, -11.5, -10.5]
    everything = conveyor.search_runs(search_all_experiments=True, output_format="pandas")
    assert len(everything) == 4
    assert len(conveyor.search_runs(experiment_ids=exp.id, max_results=2)) == 2
    empty = conveyor.search_runs(
        experiment_ids=[exp.id], filter_string="params.model = 'none'", output_format="pandas"
    )
    assert empty.empty and "run_id" in empty.columns


def test_search_runs_refuses_what_it_cannot_honour() -> None:
    with pytest.raises(ValidationFailed, match="output_format"):
        conveyor.search_runs(output_format="list_of_dicts")
    with pytest.raises(ValidationFailed, match="never soft-deleted"):
        conveyor.search_runs(run_view_type=3)
    conveyor.search_runs(run_view_type=1)  # ACTIVE_ONLY is fine


def test_log_model_takes_an_mlflow_style_signature(model_and_data) -> None:
    model, _ = model_and_data

    class ModelSignature:  # what mlflow.models.infer_signature returns, by its to_dict()
        def to_dict(self) -> dict[str, str]:
            return {
                "inputs": '[{"type": "double", "name": "a"}, {"type": "double", "name": "b"}]',
                "outputs": '[{"type": "long"}]',
            }

    with conveyor.start_run():
        info = conveyor.log_model(model, name="model", signature=ModelSignature())
    assert [c["name"] for c in info.signature["inputs"]] == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "metrics.x > -12.0 and params.y = 'a'",
        "metrics.`my metric` <= 1e-3 AND tags.\"mlflow.user\" = 'ann'",
        "attributes.status = \"FINISHED\" and attributes.run_name LIKE 'base%'",
        "run_id IN ('a', 'b') and params.model != 'rf'",
        "tags.`mlflow.source.name` ILIKE '%train%' and attributes.start_time > 0",
    ],
)
def test_search_grammar_takes_mlflow_filters(text: str) -> None:
    from conveyor.tracking.search import parse_filter

    assert parse_filter(text)
    conveyor.search_runs(filter_string=text)  # and the store runs it
