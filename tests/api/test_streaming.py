"""Artifacts stream both ways with bounded memory, verified by sha256 at both ends."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor.api import create_app
from conveyor.api.testing import ServerThread
from conveyor.backend import HttpBackend, LocalBackend

MiB = 1 << 20


def _stream(total: int, hasher: hashlib._Hash) -> Iterator[bytes]:
    """``total`` bytes in 1 MiB chunks that differ from each other, hashed as produced."""
    block = os.urandom(MiB)
    sent = 0
    for i in range(0, total, MiB):
        chunk = i.to_bytes(8, "little") + block[8 : min(MiB, total - sent)]
        hasher.update(chunk)
        sent += len(chunk)
        yield chunk


def _round_trip(backend: HttpBackend, run_id: str, total: int, path: str = "big/data.bin") -> None:
    sent = hashlib.sha256()
    info = backend.upload_artifact(run_id, path, _stream(total, sent))
    assert info["size"] == total and info["sha256"] == sent.hexdigest()
    got, size = hashlib.sha256(), 0
    for chunk in backend.iter_blob(info["sha256"]):
        got.update(chunk)
        size += len(chunk)
    assert (size, got.hexdigest()) == (total, info["sha256"])


def test_20mb_round_trip(local: LocalBackend) -> None:
    run = local.create_run(local.get_or_create_experiment("e").id)
    with ServerThread(create_app(local)) as server, HttpBackend(server.url) as backend:
        _round_trip(backend, run.id, 20 * MiB + 123)
        with httpx.Client(base_url=server.url) as client:
            response = client.get(f"/api/v1/runs/{run.id}/artifacts/big/data.bin")
        entry = local.artifact_entry(run.id, "big/data.bin")
        assert response.headers["x-conveyor-sha256"] == entry["sha256"]
        assert response.headers["x-conveyor-size"] == str(entry["size"])
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]


_SERVE = """
import sys
from conveyor.api import create_app
from conveyor.api.testing import ServerThread
with ServerThread(create_app()) as server:
    print(server.url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
"""


def _peak_rss(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.slow
@pytest.mark.server
def test_1gib_round_trip_with_bounded_server_memory(conveyor_home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONVEYOR_HOME": str(conveyor_home)},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), "server did not start"
        with HttpBackend(url) as backend:
            run = backend.create_run(backend.get_or_create_experiment("big").id)
            _round_trip(backend, run.id, 4 * MiB, "warm-up.bin")  # every code path, once
            before = _peak_rss(proc.pid)
            _round_trip(backend, run.id, 1 << 30)
            growth = _peak_rss(proc.pid) - before
            print(f"1 GiB round trip: server peak RSS grew by {growth / MiB:.1f} MiB")
        assert growth < 100 * MiB, f"server peak RSS grew by {growth / MiB:.0f} MiB"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
        proc.stdout.close()
