"""The stock MLflow client (pinned, in ``.venv-clients/mlflow``) against a real server.

Scripts under ``scripts/`` run in the client's venv as subprocesses, with
``MLFLOW_TRACKING_URI`` at a ``ServerThread(create_app(...))`` on loopback; each prints one
JSON object of observations that the tests assert on (many checks per process, so the
client's import cost is paid a few times only).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests import client_venvs

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def store_server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A real server over a fresh store on each metadata backend (``db_url``: SQLite, and
    PostgreSQL, which skips only when absent and fails with CI=true): (URL, backend)."""
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.artifacts import ArtifactStore
    from conveyor.backend import LocalBackend
    from conveyor.store import MetadataStore

    meta = MetadataStore(db_url)
    backend = LocalBackend(meta, ArtifactStore.from_uri(str(tmp_path / "artifacts")))
    try:
        with ServerThread(create_app(backend)) as server:
            yield server.url, backend
    finally:
        meta.dispose()


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """The interpreter of the stock-client venv (created on first use)."""
    return client_venvs.mlflow_python()


def run_script(
    python: Path, script: str, url: str, tmp: Path, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``scripts/<script>`` against ``url`` (``env``: more variables); its JSON output
    (stderr shown on failure)."""
    variables = {
        **(env or {}),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # a server fault fails at once, no backoff
        "GIT_PYTHON_REFRESH": "quiet",
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=variables,
        cwd=tmp,
        timeout=300,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
