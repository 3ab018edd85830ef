"""``conveyor traffic stats|sample`` through typer's CliRunner on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from conveyor._util import now_ms
from conveyor.cli.main import ConveyorGroup
from conveyor.monitoring.traffic_cli import app as traffic_app
from conveyor.monitoring.windows import default_log_uri
from conveyor.serving.prediction_log import PredictionLog

from .test_loop_helpers import ENDPOINT, SIG, write_log

root = typer.Typer(cls=ConveyorGroup)
root.add_typer(traffic_app)
runner = CliRunner()


def test_traffic_stats_and_sample_print_the_log() -> None:
    data = write_log(Path(default_log_uri()), n_requests=20, start_ms=now_ms() - 20 * 60_000)
    stats = runner.invoke(root, ["traffic", "stats", ENDPOINT, "--buckets", "4", "--json"])
    assert stats.exit_code == 0, stats.output
    assert sum(json.loads(stats.output)["requests"]) == 20
    plog = PredictionLog(default_log_uri())  # one failed request, in the newest bucket
    plog.log_failure(ENDPOINT, "1", "primary", SIG, now_ms() - 1000, 2.0, 503, "model failed")
    plog.close()
    found = json.loads(
        runner.invoke(root, ["traffic", "stats", ENDPOINT, "--buckets", "4", "--json"]).output
    )
    assert found["failed_requests"][-1] == 1 and sum(found["failed_requests"]) == 1
    printed = runner.invoke(root, ["traffic", "stats", ENDPOINT, "--buckets", "4"])
    assert "5xx" in printed.output and "4xx" in printed.output
    shown = runner.invoke(root, ["traffic", "sample", ENDPOINT, "--limit", "3"])
    assert shown.exit_code == 0, shown.output
    assert f"3 of {len(data.ids)} rows in the last 1d" in shown.output
    assert data.ids[-1] in shown.output
    missing = runner.invoke(root, ["traffic", "stats", "nowhere"])
    assert missing.exit_code == 1 and "'nowhere' does not exist" in missing.output
