"""Global importance stored with a model version: computed at registration for tree and
linear models with an input example, on demand over given data (SDK, CLI, REST), read
back for model cards; unsupported models get a clear message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("shap")

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.svm import SVR

import conveyor
from conveyor.cli.main import app
from conveyor.errors import NotFound, ValidationFailed
from conveyor.explain.summary import find_explanation_summary


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["tenure", "spend", "noise"])
    y = (2 * X["tenure"] - X["spend"] > 0).astype(int).to_numpy()
    return X, y


def _register(model: Any, name: str, example: pd.DataFrame | None) -> int:
    with conveyor.start_run():
        info = conveyor.log_model(model, "model", input_example=example, registered_model_name=name)
    assert info.registered_version is not None
    return int(info.registered_version.version)


def test_registration_stores_the_importance_of_a_forest(frame: Any) -> None:
    X, y = frame
    forest = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    version = _register(forest, "churn", X.head(50))
    client = conveyor.connect()
    summary = client.get_explanation_summary("churn", str(version))
    assert (summary["method"], summary["output"], summary["data"]) == (
        "tree", "probability", "input_example"
    )  # fmt: skip
    names = [f["name"] for f in summary["features"]]
    assert names[-1] == "noise" and set(names[:2]) == {"tenure", "spend"}
    assert summary["rows"] == 50 and summary["model"] == "churn"
    with client.transport.meta.read() as conn:  # type: ignore[attr-defined]
        assert find_explanation_summary(conn, "churn", version) == summary
    event = client.list_audit_events(action="model_version.explain")[0]
    assert event.details["top"][0] in {"tenure", "spend"}


def test_explain_on_demand_over_given_data(frame: Any, tmp_path: Path) -> None:
    X, _ = frame
    linear = LinearRegression().fit(X, 2 * X["tenure"])
    version = _register(linear, "spend", None)  # no example: nothing at registration
    client = conveyor.connect()
    with pytest.raises(NotFound, match="conveyor models explain spend/1 --data FILE"):
        client.get_explanation_summary("spend", str(version))
    X.head(100).to_csv(tmp_path / "eval.csv", index=False)
    result = CliRunner().invoke(
        app,
        ["models", "explain", f"spend/{version}", "--data", str(tmp_path / "eval.csv"), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["method"], summary["data"], summary["rows"]) == ("linear", "given", 100)
    assert summary["features"][0]["name"] == "tenure"
    shown = CliRunner().invoke(app, ["models", "explain", f"spend/{version}", "--show"])
    assert shown.exit_code == 0 and "tenure" in shown.stdout


def test_unsupported_model_is_a_clear_4xx(frame: Any, tmp_path: Path) -> None:
    X, y = frame
    version = _register(SVR().fit(X, y), "svr", X.head(20))
    client = conveyor.connect()
    with pytest.raises(
        ValidationFailed, match=r"cannot explain a sklearn model of type sklearn\.svm"
    ):
        client.explain_model_version("svr", str(version))
    result = CliRunner().invoke(app, ["models", "explain", "svr"])
    assert result.exit_code == 2 and "expected <model>/<version>" in result.stderr


def test_explain_through_rest(frame: Any, api_server: tuple[str, Any]) -> None:
    from conveyor.backend import connect

    X, y = frame
    url, local = api_server
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    folder = Path(local.meta.engine.url.database).parent / "m"
    from conveyor.models import save_model

    save_model(forest, folder, input_example=X.head(10))
    exp = local.get_or_create_experiment("e")
    run = local.create_run(exp.id)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            local.upload_artifact(run.id, f"model/{path.relative_to(folder).as_posix()}", fh)
    remote = connect(url)
    try:
        mv = remote.register_model(f"runs:/{run.id}/model", "rest-model")
        assert remote.get_explanation_summary("rest-model", str(mv.version))["method"] == "tree"
        again = remote.explain_model_version(
            "rest-model", str(mv.version), data=X.head(30).to_dict(orient="records")
        )
        assert again["rows"] == 30 and again["data"] == "given"
    finally:
        remote.close()
