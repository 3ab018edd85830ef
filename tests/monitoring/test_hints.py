"""Hints that work (issue 9.9): the missing-reference fix, unknown endpoints, the HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import conveyor
from conveyor.cli.main import ConveyorGroup
from conveyor.errors import NotFound
from conveyor.monitoring.cli import app as monitor_app
from conveyor.monitoring.report import WindowReport, window_report

from .served import deploy, serve

root = typer.Typer(cls=ConveyorGroup)
root.add_typer(monitor_app)


def _frame(n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": np.round(rng.normal(50, 5, n), 2), "b": rng.normal(size=n)})
    return frame, (frame["b"] > 0).to_numpy().astype(int)


def _served(name: str, log_uri: Path, *, log_input: bool, **options: Any) -> WindowReport:
    """Deploy the next version of ``name`` (its run logs its training data as input with
    ``log_input``), serve the training rows, report the window."""
    frame, y = _frame()
    backend = deploy(name, frame, y, reference=log_input)
    window = serve(backend, f"{name}-api", frame, log_uri)
    return window_report(backend, f"{name}-api", window, log_uri=str(log_uri), **options)


def test_the_missing_reference_hint_names_log_input_and_following_it_works(
    conveyor_home: Path, tmp_path: Path
) -> None:
    report = _served("noref", tmp_path / "v1", log_input=False)
    hint = report.reference_error or ""
    assert report.drift is None and "has no reference dataset" in hint
    assert "conveyor.log_input(" in hint and "before `conveyor.log_model(" in hint
    assert "reference_dataset_version_id" not in hint  # register_model takes no such argument

    report = _served("noref", tmp_path / "v2", log_input=True)  # as the hint says: version 2
    assert report.reference_error is None and report.drift is not None
    assert not report.drift.drifted


def test_report_on_an_unknown_endpoint_says_it_does_not_exist(
    conveyor_home: Path, tmp_path: Path
) -> None:
    backend = conveyor.connect()
    with pytest.raises(NotFound, match="endpoint 'ghost' does not exist"):
        window_report(backend, "ghost", "1h", log_uri=str(tmp_path))
    result = CliRunner().invoke(
        root, ["monitors", "report", "-e", "ghost", "--log-uri", str(tmp_path)]
    )
    assert result.exit_code != 0, result.output
    assert "does not exist" in result.output and "conveyor deployments list" in result.output


def test_a_deployed_endpoint_without_traffic_is_an_empty_window_not_an_error(
    conveyor_home: Path, tmp_path: Path
) -> None:
    frame, y = _frame()
    deploy("quiet", frame, y)
    result = CliRunner().invoke(
        root, ["monitors", "report", "-e", "quiet-api", "--log-uri", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "insufficient_data" in result.output


def test_the_html_report_without_a_reference_is_styled_and_titled_as_documented(
    conveyor_home: Path, tmp_path: Path
) -> None:
    report = _served("plain", tmp_path / "v1", log_input=False)
    with_ref = _served("plain", tmp_path / "v2", log_input=False, reference=_frame()[0])
    docs = (Path(__file__).parents[2] / "docs" / "monitoring.md").read_text()
    assert 'titled and headed "Window report: <endpoint>"' in docs
    for page in (report.to_html(), with_ref.to_html()):
        head = page[: page.index("</head>")]
        assert "<title>Window report: plain-api</title>" in head
        assert "<style>" in head and "body{font" in head and "table.figures" in head
        assert "<h1>Window report: plain-api</h1>" in page
        assert "<h2>Performance</h2>" in page and "<h2>Operational</h2>" in page
        assert page.count("<style>") == 1  # one stylesheet, in the head
    plain = report.to_html()
    assert '<div class="verdict v-insufficient_data">Drift: no reference data' in plain
    assert "No dataset drift" in with_ref.to_html()
