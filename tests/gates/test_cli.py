"""``conveyor gates ...`` and ``models alias --override-reason`` on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import app

from .conftest import register

POLICY = """\
evaluation_dataset: churn-eval@latest
checks:
  - metric: auc
    min: 0.8
  - fairness:
      sensitive: [gender]
      resamples: 0
"""


def test_cli_gates(
    tmp_path: Path,
    good_model: LogisticRegression,
    weak_model: LogisticRegression,
    eval_frame: pd.DataFrame,
) -> None:
    backend = conveyor.connect()
    register(backend, "churn", good_model, tmp_path)
    register(backend, "churn", weak_model, tmp_path)
    backend.log_dataset("churn-eval", eval_frame)
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("[gender]", "[gendr]"))
    result = runner.invoke(app, ["gates", "set-policy", "churn", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml, checks[1].fairness.sensitive[0]: column 'gendr'" in result.output
    good = tmp_path / "policy.yaml"
    good.write_text(POLICY)
    result = runner.invoke(app, ["gates", "set-policy", "churn", str(good)])
    assert result.exit_code == 0 and "Policy version 1 of churn: 2 checks" in result.output
    result = runner.invoke(app, ["gates", "show-policy", "churn"])
    assert result.exit_code == 0 and "fairness:gender" in result.output
    html = tmp_path / "gates.html"
    result = runner.invoke(app, ["gates", "run", "churn/1", "--html", str(html)])
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "<section" in html.read_text()
    result = runner.invoke(app, ["gates", "run", "churn/2", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["failed_checks"] == ["metric:auc"]
    result = runner.invoke(app, ["gates", "report", "churn/2", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["id"] == data["id"]
    result = runner.invoke(app, ["models", "alias", "churn", "champion", "2"])
    assert result.exit_code == 1
    assert "Validation gate failed" in result.output and "metric:auc" in result.output
    result = runner.invoke(
        app, ["models", "alias", "churn", "champion", "2", "--override-reason", "demo"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["deploy", "churn-ep", "--model", "churn/2", "--no-compile"])
    assert result.exit_code == 1 and "deployment:churn-ep" in result.output
    result = runner.invoke(
        app,
        ["deploy", "churn-ep", "-m", "churn/2", "--no-compile", "--override-reason", "demo"],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["gates", "run", "churn"])
    assert result.exit_code == 2 and "expected <model>/<version>" in result.output
