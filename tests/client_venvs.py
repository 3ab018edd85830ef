"""Stock third-party clients in venvs of their own under ``.venv-clients/<name>``.

Clients such as kserve or mlflow pin many packages, so they do not go into the project's
venv. :func:`client_python` creates the venv on first use (needs PyPI), installs the given
requirements under ``/tmp/pip.lock`` and returns its interpreter. A venv that already
imports ``probe`` is reused. Outside CI a failed install skips the test and says why; with
``CI=true`` it fails.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / ".venv-clients"


def client_python(name: str, requirements: list[str], *, probe: str) -> Path:
    """The interpreter of ``.venv-clients/<name>``, where ``import <probe>`` works."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    VENVS.mkdir(exist_ok=True)
    # pytest-xdist workers may ask for the same venv at once: one creates it, the others
    # wait on the lock and then find it ready
    with open(VENVS / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and subprocess.run([python, "-c", f"import {probe}"]).returncode == 0:
            return python
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "pip"), "install", "-q", *requirements]
            subprocess.run(["flock", "/tmp/pip.lock", *pip], check=True, timeout=1200)
        except (subprocess.SubprocessError, OSError) as exc:
            if os.environ.get("CI") == "true":
                raise
            pytest.skip(f"cannot install {' '.join(requirements)} into {venv}: {exc}")
    return python


#: the stock MLflow client the suite pins (MLflow 3: logged models, ``name=`` in
#: ``log_model``); tests/mlflow_compat and tests/mlflow_import share its venv
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn"]


def mlflow_python() -> Path:
    """The interpreter of ``.venv-clients/mlflow`` (created on first use)."""
    return client_python("mlflow", MLFLOW_REQUIREMENTS, probe="mlflow")
