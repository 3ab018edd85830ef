"""SDK messages and the runs a failed call leaves (issue 9 item 10): bad input starts no
run, a call that fails after starting one ends it FAILED, a second model at one path is
refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.errors import Conflict, NotFound, ValidationFailed


def _no_runs() -> bool:
    return conveyor.active_run() is None and conveyor.search_runs() == []


def test_log_input_with_a_dataframe_names_the_fix_not_the_frame() -> None:
    frame = pd.DataFrame({"secret_column": np.arange(1000)})
    with pytest.raises(ValidationFailed) as caught:
        conveyor.log_input(frame)  # type: ignore[arg-type]
    message = caught.value.message
    assert "pass a DatasetVersion from log_dataset(...)" in message
    assert "got a DataFrame" in message
    assert "secret_column" not in message and len(message) < 300
    assert _no_runs()


def test_bad_artifact_calls_start_no_run(tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("x")
    with pytest.raises(ValidationFailed, match="must be relative"):
        conveyor.log_artifact(file, "../outside")
    with pytest.raises(ValidationFailed, match="is not a file"):
        conveyor.log_artifact(tmp_path / "missing.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationFailed, match="has no files"):
        conveyor.log_artifacts(tmp_path / "empty")
    assert _no_runs()


def test_a_call_that_fails_after_starting_a_run_ends_it_failed() -> None:
    with pytest.raises(NotFound):
        conveyor.log_input("0" * 32)
    assert conveyor.active_run() is None
    [run] = conveyor.search_runs()
    assert run.status == "FAILED"


def test_log_artifact_without_a_run_logs_into_one_it_starts(tmp_path: Path) -> None:
    file = tmp_path / "report.txt"
    file.write_text("fine")
    entry = conveyor.log_artifact(file, "reports")
    run = conveyor.active_run()
    assert run is not None and entry["path"] == "reports/report.txt"
    conveyor.end_run()
    assert conveyor.get_run(run.id).status == "FINISHED"


def test_log_model_twice_at_one_path_is_refused_saying_so() -> None:
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 1, 1]
    with conveyor.start_run() as run:
        first = conveyor.log_model(LogisticRegression().fit(X, y), input_example=X.head(2))
        with pytest.raises(Conflict) as caught:
            conveyor.log_model(LogisticRegression(C=0.1).fit(X, y), input_example=X.head(2))
        other = conveyor.log_model(
            LogisticRegression(C=0.1).fit(X, y), "model_2", input_example=X.head(2)
        )
    message = caught.value.message
    assert f"run {run.id} already has a model (or other artifacts) at 'model'" in message
    assert "Pass another name=" in message
    assert conveyor.load_model(first.model_uri).predict(X).tolist() == [0, 0, 1, 1]
    assert other.model_uri.endswith("/model_2")


def test_log_model_of_an_unsupported_object_leaves_no_active_run() -> None:
    with pytest.raises(ValidationFailed):
        conveyor.log_model(object())
    assert conveyor.active_run() is None
    assert [r.status for r in conveyor.search_runs()] == ["FAILED"]
