"""``conveyor server`` refuses to start without a way to authenticate, binds loopback only
with ``--insecure-local``, and prints the first admin's token once with ``--init-admin``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import httpx
import pytest
from tests.governance.conftest import HTTP
from typer.testing import CliRunner

from conveyor.backend import HttpBackend
from conveyor.cli.main import app as cli
from conveyor.config import reset_settings


@pytest.fixture
def token_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVEYOR_AUTH")  # the default: tokens
    reset_settings()


@pytest.mark.usefixtures("token_mode")
def test_server_refuses_to_start_without_an_admin() -> None:
    result = CliRunner().invoke(cli, ["server", "--port", "1"])
    assert result.exit_code == 2
    assert "--init-admin NAME" in result.output and "--insecure-local" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_insecure_local_binds_loopback_only(host: str) -> None:
    result = CliRunner().invoke(cli, ["server", "--insecure-local", "--host", host])
    assert result.exit_code == 2 and "binds loopback only" in result.output


def test_an_insecure_local_app_answers_loopback_clients_only() -> None:
    from conveyor.api import create_app
    from conveyor.backend import LocalBackend

    local = LocalBackend.from_settings()
    app = create_app(local, auth="insecure-local")

    async def get(client: tuple[str, int]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            return await http.get("/api/v1/experiments")

    refused = asyncio.run(get(("203.0.113.9", 5000)))
    assert refused.status_code == 403 and "loopback clients only" in refused.text
    assert asyncio.run(get(("127.0.0.1", 5000))).status_code == 200
    local.close()


@pytest.mark.server
@pytest.mark.usefixtures("token_mode")
def test_init_admin_prints_a_working_token_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["server", "--init-admin", "root", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "conveyor.cli.main", *args],
        env=os.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        token = proc.stdout.readline().strip()
        for line in proc.stderr:  # until uvicorn is up, or the process ends
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail("conveyor server exited early")
        url = f"http://127.0.0.1:{port}"
        assert HTTP.get(f"{url}/api/v1/experiments").status_code == 401
        with HttpBackend(url, token=token) as root:
            assert root.whoami()["role"] == "admin"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
