"""``conveyor monitors ...`` with ``CONVEYOR_URI`` set: every command runs on a real server
(uvicorn on loopback) through the operation table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conveyor._util import now_ms
from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import LocalBackend, reset_backends
from conveyor.cli.main import ConveyorGroup
from conveyor.config import reset_settings
from conveyor.monitoring.cli import app as monitor_app

from .test_loop_helpers import ENDPOINT, write_log

pytestmark = pytest.mark.server

root = typer.Typer(cls=ConveyorGroup)
root.add_typer(monitor_app)
runner = CliRunner()


def _cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(root, ["monitors", *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    local = LocalBackend.from_settings()
    with ServerThread(create_app(local)) as srv:
        monkeypatch.setenv("CONVEYOR_URI", srv.url)
        reset_settings()
        reset_backends()
        yield srv.url
    local.close()


def test_every_monitor_command_runs_on_the_server(server: str, tmp_path: Path) -> None:
    log_uri = tmp_path / "plog"
    write_log(log_uri, start_ms=now_ms() - 20 * 60_000, step_ms=5_000, shift=1.5)
    _cli("create", "p99", "-e", ENDPOINT, "-m", "latency.p99", "-t", "1", "-w", "1h")
    listed = json.loads(_cli("list", "--json"))
    assert [m["name"] for m in listed] == ["p99"]
    out = json.loads(_cli("run", "--once", "--json", "--log-uri", str(log_uri)))
    assert out[0]["status"] == "breach" and out[0]["action"] == "fire"
    alerts = json.loads(_cli("alerts", "--open", "--json"))
    assert [a["state"] for a in alerts] == ["firing"]
    checks = json.loads(_cli("checks", "p99", "--json"))
    assert [c["status"] for c in checks] == ["breach"]
    html = tmp_path / "r.html"
    rep = json.loads(
        _cli("report", "-e", ENDPOINT, "--json", "--log-uri", str(log_uri), "--html", str(html))
    )
    assert rep["window"]["endpoint"] == ENDPOINT and rep["window"]["rows"] > 0
    assert html.read_text().lstrip().startswith("<")
    assert "exists" in _cli("create", "p99", "-e", ENDPOINT, "-m", "volume", "-t", "1", code=1)
    spec = tmp_path / "monitors.yaml"
    spec.write_text("monitors:\n  - {name: vol, endpoint: churn, metric: volume, threshold: 1}\n")
    assert [m["action"] for m in json.loads(_cli("create", "--file", str(spec), "--json"))] == [
        "created"
    ]
    _cli("delete", "p99")
    assert [m["name"] for m in json.loads(_cli("list", "--json"))] == ["vol"]
