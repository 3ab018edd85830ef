"""`conveyor ci run`: a real pipeline trains a scikit-learn model; CI registers and gates it,
writes the JSON report and exits 0 on passing gates, 1 naming the failed check otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.pipelines.ci import produced_version

from .conftest import UserCode

TRAIN = """
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import conveyor

    def frame(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, 2))
        y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype("int64")
        return pd.DataFrame({"f0": x[:, 0], "f1": x[:, 1], "label": y})

    @conveyor.step
    def load(n: int, seed: int) -> pd.DataFrame:
        return frame(n, seed)

    @conveyor.step
    def train(data: pd.DataFrame, c: float) -> LogisticRegression:
        return LogisticRegression(C=c).fit(data[["f0", "f1"]], data["label"])

    @conveyor.step
    def train_and_register(data: pd.DataFrame, c: float) -> LogisticRegression:
        model = LogisticRegression(C=c).fit(data[["f0", "f1"]], data["label"])
        conveyor.log_model(
            model, input_example=data[["f0", "f1"]].head(5), registered_model_name="churn"
        )
        conveyor.end_run()
        return model

    @conveyor.pipeline
    def retrain(n: int = 400, c: float = 1.0):
        return train(load(n, seed=1), c=c)

    @conveyor.pipeline
    def retrain_and_register(n: int = 400, c: float = 1.0):
        return train_and_register(load(n, seed=1), c=c)
"""

POLICY = """\
evaluation_dataset: ci-eval@latest
label: label
checks:
  - metric: auc
    min: {auc}
protected_aliases: [champion]
"""


@pytest.fixture
def project(backend: Any, user_code: UserCode, tmp_path: Path) -> Path:
    """The pipeline module, an evaluation dataset, and a folder for policy and report."""
    user_code.write("ci_train", TRAIN)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype("int64")
    backend.log_dataset("ci-eval", pd.DataFrame({"f0": x[:, 0], "f1": x[:, 1], "label": y}))
    return tmp_path


def _ci(
    project: Path, auc: float, *extra: str, target: str = "ci_train:retrain"
) -> tuple[Any, dict[str, Any]]:
    policy = project / f"gates-{auc}.yaml"
    policy.write_text(POLICY.format(auc=auc))
    report = project / "out" / "ci-report.json"
    result = CliRunner().invoke(
        app,
        [
            "ci",
            "run",
            target,
            "--policy",
            str(policy),
            "--model",
            "churn",
            "--report",
            str(report),
            *extra,
        ],
    )
    assert report.exists(), result.output
    return result, json.loads(report.read_text())


def test_passing_gates_exit_0_with_a_report(backend: Any, project: Path) -> None:
    result, report = _ci(project, 0.8)
    assert result.exit_code == 0, result.output
    assert report["passed"] is True and report["stage"] == "done"
    assert report["model"] == "churn" and report["version"] == 1
    assert report["registered_by_ci"] is True
    assert report["pipeline"]["status"] == "succeeded"
    assert [c["name"] for c in report["gates"]["checks"]] == ["metric:auc"]
    assert report["gates"]["checks"][0]["value"] > 0.8
    assert report["failed_checks"] == []
    assert backend.get_gate_policy("churn").version == report["policy_version"] == 1
    assert "PASSED" in result.output

    again, second = _ci(project, 0.8)  # same policy text: no new policy version
    assert again.exit_code == 0 and second["version"] == 2 and second["policy_version"] == 1


def test_a_failing_gate_exits_1_naming_the_check(backend: Any, project: Path) -> None:
    result, report = _ci(project, 0.999)
    assert result.exit_code == 1, result.output
    assert report["passed"] is False and report["stage"] == "gates"
    assert report["failed_checks"] == ["metric:auc"]
    assert report["gates"]["checks"][0]["verdict"] == "fail"
    assert "gates failed: metric:auc" in result.output


def test_a_failing_pipeline_exits_1(backend: Any, project: Path) -> None:
    result, report = _ci(project, 0.8, "--param", "c=-1")  # LogisticRegression refuses C<0
    assert result.exit_code == 1
    assert report["stage"] == "pipeline" and report["pipeline"]["status"] == "failed"
    assert "train" in report["pipeline"]["error"] and report["version"] is None


def test_passing_gates_start_a_rollout(backend: Any, project: Path) -> None:
    target = "ci_train:retrain_and_register"  # the step registers (with a signature)
    first, report = _ci(project, 0.8, target=target)
    assert first.exit_code == 0, first.output
    assert report["version"] == 1 and report["registered_by_ci"] is False
    backend.deploy("churn-api", model="churn/1", compile=False)
    result, report = _ci(project, 0.8, "--rollout", "churn-api", "--param", "c=0.5", target=target)
    assert result.exit_code == 0, result.output
    assert report["version"] == 2 and report["registered_by_ci"] is False
    assert report["rollout"]["candidate"] == "churn/2"
    assert report["rollout"]["state"] == "pending"


def test_a_version_registered_during_the_run_is_found(backend: Any, project: Path) -> None:
    from conveyor.pipelines.engine import run_pipeline

    run = run_pipeline("ci_train:retrain", backend=backend).run
    uri = run.steps[-1].outputs["uri"]
    mv = backend.register_model(model_uri=uri, name="churn")  # what a registering step does
    assert produced_version(backend, run, None) == ("churn", mv.version, False)
    assert produced_version(backend, run, "churn") == ("churn", mv.version, False)
