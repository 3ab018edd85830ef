"""Experiments and runs through the CLI, in table and --json form."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from conveyor.cli.main import app

if TYPE_CHECKING:
    from tests.cli.conftest import Seeded

RunJson = Callable[..., Any]


def test_experiments_list_show_create(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    result = runner.invoke(app, ["experiments", "list"])
    assert result.exit_code == 0, result.output
    assert "churn" in result.stdout and seeded.experiment_id in result.stdout

    by_name = run_json("experiments", "show", "churn")
    by_id = run_json("experiments", "show", seeded.experiment_id)
    assert by_name == by_id
    assert by_name["description"] == "who leaves"

    created = run_json("experiments", "create", "fraud", "--description", "d")
    assert created["name"] == "fraud"
    names = [e["name"] for e in run_json("experiments", "list")]
    assert sorted(names) == ["churn", "fraud"]


def test_experiment_create_duplicate_is_a_conflict(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["experiments", "create", "churn"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Conflict: ")
    assert "Traceback" not in result.output


def test_runs_list_table_and_json(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    result = runner.invoke(app, ["runs", "list", "--experiment", "churn"])
    assert result.exit_code == 0, result.output
    for run_id in seeded.run_ids:
        assert run_id in result.stdout
    assert "loss=NaN" in result.stdout

    runs = run_json("runs", "list", "--max", "2")
    assert isinstance(runs, list) and len(runs) == 2
    assert [r["id"] for r in runs] == seeded.run_ids[:0:-1]  # newest first
    lr = next(r for r in runs if r["params"]["model"] == "lr")
    assert lr["metrics"]["loss"] == "NaN"  # NaN travels as a string, the JSON stays valid


def test_global_json_option(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["--json", "runs", "list"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3
    # the global option does not leak into the next invocation
    again = runner.invoke(app, ["runs", "list"])
    assert again.stdout.lstrip().startswith("Runs (3)")


def test_runs_show(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    run_id = seeded.run_ids[0]
    result = runner.invoke(app, ["runs", "show", run_id])
    assert result.exit_code == 0, result.output
    for text in ("run-0", "max_depth", "auc", "0.91", "growth", "abc123 main"):
        assert text in result.stdout
    data = run_json("runs", "show", run_id)
    assert data["params"] == {"model": "rf", "max_depth": "4"}
    assert data["metrics"] == {"auc": 0.91, "loss": 0.25}


def test_runs_show_unknown_run(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["runs", "show", "0123abcd"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Not found: run '0123abcd' does not exist"
    assert result.stdout == ""


def test_runs_search_filter_and_order(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    args = ["runs", "search", "--filter", "metrics.auc > 0.8 and params.model = 'rf'"]
    args += ["--order-by", "metrics.auc DESC", "--experiment", "churn"]
    found = run_json(*args)
    assert [r["id"] for r in found] == [seeded.run_ids[0], seeded.run_ids[2]]

    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "metrics.auc" in result.stdout  # the filtered metric gets its own column
    assert seeded.run_ids[1] not in result.stdout


def test_runs_search_malformed_filter(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["runs", "search", "--filter", "metrics.auc >> 0.8"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Invalid input: bad filter 'metrics.auc >> 0.8'")
    assert "Traceback" not in result.output


def test_runs_search_bad_order_by(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["runs", "search", "--order-by", "metrics.auc upwards"])
    assert result.exit_code == 2
    assert "Invalid input" in result.stderr


def test_runs_list_unknown_experiment(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["runs", "list", "--experiment", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.stderr


def test_runs_metrics_history(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    history = run_json("runs", "metrics", seeded.run_ids[0], "auc")
    assert [(p["step"], p["value"]) for p in history] == [(0, 0.71), (1, 0.81), (2, 0.91)]
    nan = run_json("runs", "metrics", seeded.run_ids[1], "loss")
    assert nan[0]["value"] == "NaN"
    result = runner.invoke(app, ["runs", "metrics", seeded.run_ids[0], "auc"])
    assert result.exit_code == 0, result.output
    assert "Metric auc (3 points)" in result.stdout


def test_runs_artifacts(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    run_id = seeded.run_ids[0]
    entries = run_json("runs", "artifacts", run_id)
    assert [e["path"] for e in entries] == [
        "model/conveyor-model.json",
        "model/model.skops",
        "model/weights.bin",
        "report.txt",
    ]
    only_model = run_json("runs", "artifacts", run_id, "--path", "model")
    assert len(only_model) == 3
    result = runner.invoke(app, ["runs", "artifacts", run_id])
    assert "model/weights.bin" in result.stdout and str(len(seeded.weights)) in result.stdout


def test_runs_download_folder_and_file(
    runner: CliRunner, run_json: RunJson, seeded: Seeded, tmp_path: Path
) -> None:
    run_id = seeded.run_ids[0]
    dest = tmp_path / "out"
    result = runner.invoke(app, ["runs", "download", run_id, "model", "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert (dest / "model" / "weights.bin").read_bytes() == seeded.weights
    assert json.loads((dest / "model" / "conveyor-model.json").read_text())["flavor"] == "sklearn"
    assert "Downloaded 3 file(s)" in result.stdout
    assert not list(dest.rglob("*.part"))

    single = run_json("runs", "download", run_id, "model/weights.bin", "-d", str(dest))
    assert single[0]["dest"] == str((dest / "weights.bin").resolve())
    assert (dest / "weights.bin").read_bytes() == seeded.weights


def test_runs_download_unknown_path(runner: CliRunner, seeded: Seeded, tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "download", seeded.run_ids[0], "nothing", "-d", "x"])
    assert result.exit_code == 1
    assert "has no artifact 'nothing'" in result.stderr
