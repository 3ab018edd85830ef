"""The stock Triton and KServe Python clients, with their default settings, against a real
``conveyor serve`` and ``conveyor server``'s ``/serving`` mount on loopback.

tritonclient[http] is in the dev extra; kserve pins many packages, so it lives in its own
venv under ``.venv-clients/kserve`` (``tests/client_venvs.py``).
"""

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
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.client_venvs import client_python

import conveyor
from conveyor.api.app import create_app
from conveyor.api.testing import ServerThread
from conveyor.deployments import deploy_endpoint

pytestmark = [pytest.mark.server, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).parent / "clients"
COLUMNS = ["tenure", "spend", "calls"]


@pytest.fixture(scope="module")
def kserve_python() -> Path:
    return client_python("kserve", ["kserve"], probe="kserve")


@pytest.fixture
def deployed(conveyor_home: Path) -> tuple[Any, pd.DataFrame, LogisticRegression]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(200, 3)).round(2), columns=COLUMNS)
    model = LogisticRegression().fit(x, (x["tenure"] - x["spend"] > 0).astype(int))
    with conveyor.start_run():
        conveyor.log_model(model, "model", input_example=x.head(5), registered_model_name="churn")
    backend = conveyor.connect()
    deploy_endpoint(backend, "churn-api", model="churn/1")
    return backend, x, model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"conveyor serve exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # the server's own start-up: nothing to await from here
    raise AssertionError(f"conveyor serve did not become ready at {url}")


@pytest.fixture(params=["serve", "server"])
def base_url(request: pytest.FixtureRequest, deployed: Any) -> Iterator[str]:
    """``conveyor serve`` (the CLI, a subprocess) or ``conveyor server``'s /serving mount."""
    if request.param == "server":
        with ServerThread(create_app(deployed[0]), lifespan="on") as server:
            yield f"{server.url}/serving"
        return
    port = _free_port()
    cli = Path(sys.executable).with_name("conveyor")
    proc = subprocess.Popen(
        [str(cli), "serve", "churn-api", "--port", str(port), "--no-log"],
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _run(python: Path | str, script: str, args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(CLIENTS / script), json.dumps(args)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check(result: dict[str, Any], x: pd.DataFrame, model: LogisticRegression) -> None:
    assert result["live"] and result["ready"] and result["model_ready"]
    meta = result["metadata"]
    assert meta["name"] == "churn-api" and meta["versions"] == ["1"]
    assert [i["shape"] for i in meta["inputs"]] == [[-1, 3]]
    assert meta["parameters"]["columns"] == COLUMNS
    want = model.predict(x).tolist()
    proba = model.predict_proba(x)
    for kind in ("binary", "json"):
        assert result[f"matrix_{kind}"]["predict"] == want, kind
        assert result[f"columns_{kind}"]["predict"] == want, kind
        asked = result[f"proba_{kind}"]
        assert asked["predict"] == want, kind
        np.testing.assert_allclose(asked["probabilities"], proba, atol=1e-5)
    errors = result["errors"]
    assert "'nope'" in errors["unknown_model"]["text"]  # the server's message, not a crash
    assert "shape must be [n, 3]" in errors["bad_shape"]["text"]


def test_triton_client(base_url: str, deployed: Any) -> None:
    _, x, model = deployed
    rows = x.head(7)
    url = base_url.removeprefix("http://")
    result = _run(sys.executable, "triton_check.py",
                  {"url": url, "model": "churn-api", "columns": COLUMNS,
                   "rows": rows.to_numpy().tolist()})  # fmt: skip
    _check(result, rows, model)
    assert result["versioned"]["predict"] == model.predict(rows).tolist()
    assert "serves ['1']" in result["errors"]["unknown_version"]["text"]


def test_kserve_client(base_url: str, deployed: Any, kserve_python: Path) -> None:
    _, x, model = deployed
    rows = x.head(7)
    result = _run(kserve_python, "kserve_check.py",
                  {"url": base_url, "model": "churn-api", "columns": COLUMNS,
                   "rows": rows.to_numpy().tolist()})  # fmt: skip
    _check(result, rows, model)
