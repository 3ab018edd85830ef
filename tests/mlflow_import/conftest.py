"""MLflow stores made by the stock client (pinned MLflow 3 in .venv-clients/mlflow)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import client_venvs

SCRIPT = Path(__file__).with_name("make_store.py")


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    return client_venvs.mlflow_python()


def make_store(python: Path, uri: str, artifacts: str, out: Path, **env: str) -> dict[str, Any]:
    """Run make_store.py with the stock client; what it created."""
    subprocess.run(
        [str(python), str(SCRIPT), uri, artifacts, str(out)],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
        cwd=out.parent,
        timeout=600,
    )
    created: dict[str, Any] = json.loads(out.read_text())
    return created


@pytest.fixture(scope="session")
def sqlite_store(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow-sqlite")
    created = make_store(
        mlflow_python, f"sqlite:///{root / 'mlflow.db'}", str(root / "artifacts"), root / "out.json"
    )
    return {**created, "root": root, "from": str(root / "mlflow.db")}


@pytest.fixture(scope="session")
def files_store(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow-files")
    mlruns = root / "mlruns"
    created = make_store(
        mlflow_python,
        mlruns.as_uri(),
        str(root / "artifacts"),
        root / "out.json",
        MLFLOW_ALLOW_FILE_STORE="true",
    )
    return {**created, "root": root, "from": str(mlruns)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server_store(
    mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A stock ``mlflow server`` (SQLite backend, artifact proxy) with the store in it."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed after the server exits
    server = subprocess.Popen(
        [
            str(mlflow_python),
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "proxied"),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    started = time.monotonic()
    try:
        for _ in range(600):  # the server answers once its app is imported
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)  # another process: nothing to await but its socket
        else:
            pytest.fail("mlflow server did not answer within 120 s")
        ready = time.monotonic()
        created = make_store(mlflow_python, url, "-", root / "out.json")
        print(
            f"mlflow server up in {ready - started:.0f}s, store in {time.monotonic() - ready:.0f}s"
        )
        yield {**created, "root": root, "from": url}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
