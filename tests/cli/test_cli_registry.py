"""Models, audit, settings and version through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app
from conveyor.config import reset_settings
from conveyor.store.tables import audit_events

if TYPE_CHECKING:
    from tests.cli.conftest import Seeded

RunJson = Callable[..., Any]


def test_models_list_and_show(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "churn-model" in result.stdout and "@champion→v1" in result.stdout
    models = run_json("models", "list")
    assert [(m["name"], m["aliases"]) for m in models] == [("churn-model", {"champion": 1})]

    shown = run_json("models", "show", "churn-model")
    assert [(v["version"], v["aliases"]) for v in shown["versions"]] == [(1, ["champion"])]
    table = runner.invoke(app, ["models", "show", "churn-model"]).stdout
    assert "Versions (1)" in table and "sklearn" in table


def test_models_version_by_number_and_alias(
    runner: CliRunner, run_json: RunJson, seeded: Seeded
) -> None:
    by_alias = run_json("models", "version", "churn-model", "champion")
    by_number = run_json("models", "version", "churn-model", "1")
    assert by_alias == by_number
    assert by_alias["uri"] == "models:/churn-model/1"
    assert by_alias["run_id"] == seeded.run_ids[0]
    result = runner.invoke(app, ["models", "version", "churn-model", "latest"])
    assert result.exit_code == 0, result.output
    for text in ("Signature", "age", "double", "weights.bin", f"runs:/{seeded.run_ids[0]}/model"):
        assert text in result.stdout


def test_models_register_and_aliases(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    source = f"runs:/{seeded.run_ids[0]}/model"
    result = runner.invoke(app, ["models", "register", source, "--name", "churn-model"])
    assert result.exit_code == 0, result.output
    assert "Registered churn-model version 2" in result.stdout

    moved = run_json("models", "alias", "churn-model", "champion", "2")
    assert moved["version"] == 2 and moved["aliases"] == ["champion"]
    result = runner.invoke(app, ["models", "alias", "--delete", "churn-model", "champion"])
    assert result.exit_code == 0, result.output
    assert run_json("models", "show", "churn-model")["aliases"] == {}

    again = runner.invoke(app, ["models", "alias", "--delete", "churn-model", "champion"])
    assert again.exit_code == 1
    assert again.stderr.startswith("Not found: model 'churn-model' has no alias 'champion'")


def test_models_alias_without_version_is_a_usage_error(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["models", "alias", "churn-model", "challenger"])
    assert result.exit_code == 2
    assert "which version should @challenger point at?" in result.stderr


def test_models_register_bad_uri(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["models", "register", "s3://x/model", "--name", "m"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Invalid input: expected a runs:/<run_id>/<path> URI")


def test_models_unknown_version(runner: CliRunner, seeded: Seeded) -> None:
    result = runner.invoke(app, ["models", "version", "churn-model", "7"])
    assert result.exit_code == 1
    assert "no version 7" in result.stderr


def test_audit_list_and_filters(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    events = run_json("audit", "list", "--limit", "1000", "--oldest-first")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    first_run = seeded.run_ids[0]
    for_run = run_json(
        "audit", "list", "--object-type", "run", "--object-id", first_run, "--oldest-first"
    )
    assert for_run and {e["object_id"] for e in for_run} == {first_run}
    assert for_run[0]["action"] == "run.create"
    latest = run_json("audit", "list", "-n", "2")  # the default: the latest, newest first
    assert [e["seq"] for e in latest] == [len(events), len(events) - 1]
    table = runner.invoke(app, ["audit", "list", "--object-type", "experiment"]).stdout
    assert f"experiment:{seeded.experiment_id}" in table and "experiment.create" in table


def test_audit_verify_ok(runner: CliRunner, run_json: RunJson, seeded: Seeded) -> None:
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact" in result.stdout
    report = run_json("audit", "verify")
    assert report["ok"] is True and report["first_bad_seq"] is None and report["events"] > 10


def test_audit_verify_broken_chain(
    runner: CliRunner, seeded: Seeded, backend: LocalBackend
) -> None:
    # tamper with one stored event, as someone with database access could
    with backend.meta.engine.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 3).values(actor="eve"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Audit chain broken at seq 3 (")
    report = runner.invoke(app, ["audit", "verify", "--json"])
    assert report.exit_code == 1
    assert json.loads(report.stdout)["first_bad_seq"] == 3


def test_settings_shows_value_source_and_help(
    runner: CliRunner,
    run_json: RunJson,
    conveyor_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CONVEYOR_TOKEN", "s3cr3t")
    monkeypatch.setenv("CONVEYOR_SERVER_PORT", "6000")
    (tmp_path / "conveyor.toml").write_text("[conveyor]\nmetric_flush_size = 77\n")
    reset_settings()
    rows = {r["name"]: r for r in run_json("settings")}
    assert rows["server_port"]["value"] == 6000 and rows["server_port"]["source"] == "env"
    assert (
        rows["metric_flush_size"]["value"] == 77 and rows["metric_flush_size"]["source"] == "file"
    )
    assert rows["home"]["value"] == str(conveyor_home)
    assert rows["http_timeout"]["source"] == "default"
    assert rows["token"]["value"] == "***"
    assert rows["db_url"]["resolved"].startswith("sqlite:///")
    result = runner.invoke(app, ["settings"])
    assert result.exit_code == 0, result.output
    assert "s3cr3t" not in result.stdout
    assert "CONVEYOR_METRIC_FLUSH_SIZE" in result.stdout and "conveyor.toml" in result.stdout
    assert "Buffered metric points" in result.stdout


def test_bad_setting_is_a_usage_error(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_SERVER_PORT", "many")
    reset_settings()
    result = runner.invoke(app, ["settings"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Invalid input: CONVEYOR_SERVER_PORT: bad value 'many'")


def test_version(runner: CliRunner, run_json: RunJson) -> None:
    import conveyor

    result = runner.invoke(app, ["version"])
    assert result.stdout.strip() == f"conveyor {conveyor.__version__}"
    assert run_json("version")["version"] == conveyor.__version__
