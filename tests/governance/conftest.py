"""Governance fixtures: a backend on the test's CONVEYOR_HOME (what the CLI opens too)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app


@pytest.fixture
def backend(conveyor_home: Path) -> Iterator[LocalBackend]:
    api = LocalBackend.from_settings()
    yield api
    api.meta.dispose()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def run_json(runner: CliRunner) -> Callable[..., Any]:
    """Invoke ``conveyor <args> --json``, check it succeeded, return the parsed stdout."""

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke
