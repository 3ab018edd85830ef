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
from pathlib import Path
from typing import Any

import pytest
from tests import client_venvs

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """The interpreter of the stock-client venv (created on first use)."""
    return client_venvs.mlflow_python()


def run_script(python: Path, script: str, url: str, tmp: Path, *args: str) -> dict[str, Any]:
    """Run ``scripts/<script>`` against ``url``; its JSON output (stderr shown on failure)."""
    env = {
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
        env=env,
        cwd=tmp,
        timeout=300,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
