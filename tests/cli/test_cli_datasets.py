"""Datasets through the CLI: list, versions, show (schema, checks, profile)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app
from conveyor.data.checks import in_range, not_null


def _seed(backend: LocalBackend) -> None:
    first = pd.DataFrame({"age": [21.0, 35.0, None, 40.0], "city": ["a", "b", "a", "c"]})
    checks = [not_null("age", max_fraction=0.5), in_range("age", min=0, max=30)]
    backend.log_dataset("customers", first, expectations=checks, source="crm.csv")
    second = pd.DataFrame({"age": [22.0, 23.0], "city": ["a", "a"]})
    backend.log_dataset("customers", second)


def test_datasets_list_and_versions(runner: CliRunner, backend: LocalBackend) -> None:
    _seed(backend)
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    assert "customers" in result.stdout
    listed = json.loads(runner.invoke(app, ["datasets", "list", "--json"]).stdout)
    assert [(d["name"], d["latest_version"]) for d in listed] == [("customers", 2)]

    versions = runner.invoke(app, ["datasets", "versions", "customers", "--json"])
    assert versions.exit_code == 0, versions.output
    rows = json.loads(versions.stdout)
    assert [(v["version"], v["num_rows"]) for v in rows] == [(1, 4), (2, 2)]
    assert "profile" not in rows[0]
    table = runner.invoke(app, ["datasets", "versions", "customers"]).stdout
    assert "failed (1 of 2)" in table and "no checks" in table


def test_datasets_show(runner: CliRunner, backend: LocalBackend) -> None:
    _seed(backend)
    result = runner.invoke(app, ["datasets", "show", "customers", "--version", "1"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("datasets:/customers/1", "Schema", "double", "Checks", "FAIL", "Profile"):
        assert text in out
    assert "in_range(age)" in out and "crm.csv" in out

    data = json.loads(runner.invoke(app, ["datasets", "show", "customers", "--json"]).stdout)
    assert data["version"] == 2 and data["num_rows"] == 2 and len(data["sha256"]) == 64
    assert [c["name"] for c in data["profile"]["columns"]] == ["age", "city"]
    assert all("sketch" not in c for c in data["profile"]["columns"])


def test_datasets_unknown(runner: CliRunner, backend: LocalBackend) -> None:
    _seed(backend)
    result = runner.invoke(app, ["datasets", "show", "customers", "--version", "9"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Not found: dataset 'customers' has no version 9")
    result = runner.invoke(app, ["datasets", "versions", "nobody"])
    assert result.exit_code == 1 and "nobody" in result.stderr
