"""The CLI against a real ``conveyor server`` (HttpBackend): same commands, same answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.cli.conftest import Seeded

    RunExe = Callable[..., subprocess.CompletedProcess[str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_uri(seeded: Seeded, conveyor_exe: list[str]) -> Iterator[str]:
    """``conveyor server`` on a free loopback port, serving the seeded store."""
    port = _free_port()
    proc = subprocess.Popen(
        [*conveyor_exe, "server", "--port", str(port)],
        env=os.environ,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    try:
        seen = []
        for line in proc.stderr:  # blocks until uvicorn says it is up, or the process ends
            seen.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail("conveyor server exited early:\n" + "".join(seen))
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stderr.close()


@pytest.mark.server
def test_cli_against_a_server(
    seeded: Seeded, server_uri: str, tmp_path: Path, run_exe: RunExe
) -> None:
    env = {**os.environ, "CONVEYOR_URI": server_uri}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_exe(*args, env=env)

    found = run("--json", "runs", "search", "--filter", "params.model = 'rf'")
    assert found.returncode == 0, found.stderr
    assert {r["id"] for r in json.loads(found.stdout)} == {seeded.run_ids[0], seeded.run_ids[2]}

    dest = tmp_path / "remote"
    got = run("runs", "download", seeded.run_ids[0], "model/weights.bin", "--dest", str(dest))
    assert got.returncode == 0, got.stderr
    assert (dest / "weights.bin").read_bytes() == seeded.weights

    missing = run("runs", "show", "feedface")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Not found: run 'feedface' does not exist"
