"""CLI fixtures: a store seeded through the backend (never through the CLI under test)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from conveyor.backend.local import LocalBackend
from conveyor.cli.main import app
from conveyor.models import save_model
from conveyor.tracking.metric_rows import MetricRows

T0 = 1_700_000_000_000
MANIFEST = {
    "flavor": "sklearn",
    "signature": {"inputs": [{"name": "age", "type": "double"}], "outputs": None},
}
WEIGHTS = bytes(range(256)) * 400  # 100 KiB, enough for a few progress updates


@dataclass
class Seeded:
    """What the ``seeded`` fixture stored."""

    home: Path
    experiment_id: str
    run_ids: list[str]  # rf 0.91, lr 0.75 (loss NaN), rf 0.85 — in creation order
    weights: bytes = WEIGHTS  # model/weights.bin of the first run


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


@pytest.fixture
def conveyor_exe() -> list[str]:
    """The installed ``conveyor`` script beside this Python, else ``python -m ...``."""
    exe = shutil.which("conveyor", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "conveyor.cli.main"]


@pytest.fixture
def run_exe(conveyor_exe: list[str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real executable: ``run_exe(*args, env=None)`` (default: this test's env)."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*conveyor_exe, *args],
            env=os.environ if env is None else env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def backend(conveyor_home: Path) -> Iterator[LocalBackend]:
    """A backend on the test's CONVEYOR_HOME, for seeding and checking."""
    api = LocalBackend.from_settings()
    yield api
    api.meta.dispose()


@pytest.fixture
def seeded(backend: LocalBackend, conveyor_home: Path) -> Seeded:
    """Experiment 'churn' with three finished runs, a logged model registered as v1 @champion."""
    exp = backend.create_experiment("churn", description="who leaves")
    run_ids = []
    for i, (model, auc) in enumerate([("rf", 0.91), ("lr", 0.75), ("rf", 0.85)]):
        run = backend.create_run(
            exp.id,
            name=f"run-{i}",
            params={"model": model, "max_depth": 4 + i},
            tags={"team": "growth"},
            source={"git": {"commit": "abc123", "branch": "main", "dirty": False}},
        )
        rows = MetricRows()
        for step in range(3):
            rows.append("auc", round(auc - 0.1 * (2 - step), 4), step, T0 + step)
        rows.append("loss", math.nan if model == "lr" else 0.25, 0, T0)
        backend.log_batch(run.id, metrics=rows)
        run_ids.append(run.id)
    first = run_ids[0]
    folder = conveyor_home.parent / "seeded-model"  # a real model: registration checks it
    model = LinearRegression().fit(pd.DataFrame({"age": [20.0, 40.0]}), [0.0, 1.0])
    save_model(model, folder, signature=MANIFEST["signature"])
    for name in ("conveyor-model.json", "model.skops"):
        backend.upload_artifact(first, f"model/{name}", io.BytesIO((folder / name).read_bytes()))
    backend.upload_artifact(first, "model/weights.bin", io.BytesIO(WEIGHTS))
    backend.upload_artifact(first, "report.txt", io.BytesIO(b"fine\n"))
    for run_id in run_ids:  # ended runs accept no more artifacts: end them last
        backend.end_run(run_id)
    backend.register_model(f"runs:/{first}/model", "churn-model")
    backend.set_model_alias("churn-model", "champion", 1)
    return Seeded(conveyor_home, exp.id, run_ids)
