"""``conveyor package``: the build context, its Kubernetes manifests, and serving from it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier
from typer.testing import CliRunner

from conveyor import __version__
from conveyor.cli.main import app
from conveyor.deployments.packaging import Resources, bootstrap, package_model
from conveyor.errors import IntegrityError, NotFound, ValidationFailed
from conveyor.models.manifest import MANIFEST_NAME, ModelManifest

from .helpers import corrupt_file, log_and_register, records

K8S_VERSION = "1.30.0"


@pytest.fixture
def packaged(
    home_backend: Any,
    forests: list[RandomForestClassifier],
    clf_data: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
) -> Path:
    X, _ = clf_data
    log_and_register(forests[1], "churn", X.head(20))
    log_and_register(forests[0], "churn", X.head(20))
    out = tmp_path / "ctx"
    package_model(home_backend, "churn/2", out, resources=Resources(max_replicas=4))
    return out


def test_build_context_files(packaged: Path, home_backend: Any) -> None:
    names = {p.relative_to(packaged).as_posix() for p in packaged.rglob("*") if p.is_file()}
    assert {"Dockerfile", "requirements.txt", "entrypoint.sh", "bundle.json",
            "k8s/deployment.yaml", "k8s/service.yaml", "k8s/hpa.yaml"} <= names  # fmt: skip
    mv = home_backend.get_model_version("churn", 2)
    assert {f"model/{f['path']}" for f in mv.files} <= names
    manifest = ModelManifest.read(packaged / "model")
    for entry in manifest.files:
        entry.verify(packaged / "model")
    reqs = (packaged / "requirements.txt").read_text().splitlines()
    assert reqs[0] == f"conveyor-mlops=={__version__}"
    assert {f"{n}=={v}" for n, v in manifest.packages.items()} <= set(reqs)
    assert all("==" in line for line in reqs)
    docker = (packaged / "Dockerfile").read_text()
    python = ".".join(manifest.python_version.split(".")[:2])
    assert f"FROM python:{python}-slim" in docker and "entrypoint.sh" in docker
    assert "conveyor serve churn" in (packaged / "entrypoint.sh").read_text().replace(
        "-m conveyor serve", "conveyor serve"
    )
    bundle = json.loads((packaged / "bundle.json").read_text())
    assert bundle["model"] == "churn" and bundle["version"] == 2
    assert bundle["manifest_sha256"] == mv.manifest_sha256


def test_manifests_validate_against_kubernetes_schemas(packaged: Path) -> None:
    docs = {p.name: yaml.safe_load(p.read_text()) for p in (packaged / "k8s").glob("*.yaml")}
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    container = docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert set(container["resources"]) == {"requests", "limits"}
    assert docs["hpa.yaml"]["spec"]["maxReplicas"] == 4
    assert docs["service.yaml"]["spec"]["selector"] == {"app.kubernetes.io/name": "churn"}
    # the schema check itself catches a broken manifest
    broken = {**docs["hpa.yaml"], "spec": {**docs["hpa.yaml"]["spec"], "maxReplicas": "four"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(packaged: Path, tmp_path: Path) -> Iterator[str]:
    """The build context's entry point, run from a copy of the folder, on a loopback port."""
    folder = shutil.copytree(packaged, tmp_path / "app")  # nothing outside the folder used
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(CONVEYOR_PYTHON=sys.executable, CONVEYOR_SERVE_HOST="127.0.0.1",
               CONVEYOR_SERVE_PORT=str(port))  # fmt: skip
    proc = subprocess.Popen(
        ["sh", str(folder / "entrypoint.sh")], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "the packaged server did not become ready"
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # polling the readiness probe, as Kubernetes does
        assert (folder / ".conveyor").is_dir()  # the store lives in the folder itself
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.server
@pytest.mark.slow
def test_entry_point_serves_the_model_from_the_folder(
    served: str, forests: list[RandomForestClassifier], clf_data: Any
) -> None:
    X, _ = clf_data
    assert httpx.get(f"{served}/v2/health/live").status_code == 200
    r = httpx.post(f"{served}/endpoints/churn/invocations", json={"records": records(X.head(25))})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == forests[0].predict(X.head(25)).tolist()


def test_unknown_model_or_version(home_backend: Any, packaged: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        package_model(home_backend, "nope/1", tmp_path / "a")
    with pytest.raises(NotFound, match="no version 9"):
        package_model(home_backend, "churn/9", tmp_path / "b")
    with pytest.raises(ValidationFailed, match="<model>/<version>"):
        package_model(home_backend, "churn", tmp_path / "c")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_non_empty_output_needs_force(home_backend: Any, packaged: Path) -> None:
    before = (packaged / "bundle.json").read_text()
    with pytest.raises(ValidationFailed, match="--force"):
        package_model(home_backend, "churn/1", packaged)
    assert (packaged / "bundle.json").read_text() == before
    package_model(home_backend, "churn/1", packaged, force=True)
    assert json.loads((packaged / "bundle.json").read_text())["version"] == 1


def test_bootstrap_is_idempotent_and_refuses_changed_files(
    home_backend: Any, packaged: Path
) -> None:
    assert bootstrap(packaged, home_backend) == "churn"
    first = home_backend.get_revision("churn")
    assert first.routes[0].model == "churn" and first.routes[0].version == 3  # next in this store
    assert bootstrap(packaged, home_backend) == "churn"  # a restart deploys nothing new
    assert home_backend.get_revision("churn").revision == first.revision
    corrupt_file(packaged / "model" / MANIFEST_NAME)
    with pytest.raises(IntegrityError, match="manifest"):
        bootstrap(packaged, home_backend)


def test_cli_package(packaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-ctx"
    result = CliRunner().invoke(
        app, ["package", "churn/1", "--output", str(out), "--memory", "256Mi", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["image"] == "churn:1"
    dep = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())
    limits = dep["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert limits["requests"]["memory"] == "256Mi"
    again = CliRunner().invoke(app, ["package", "churn/1", "--output", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    missing = CliRunner().invoke(app, ["package", "ghost/1", "--output", str(tmp_path / "x")])
    assert missing.exit_code == 1 and "ghost" in missing.output


@pytest.mark.slow
def test_image_builds_where_a_container_engine_exists(packaged: Path) -> None:
    engine = shutil.which("docker") or shutil.which("podman")
    if engine is None:
        pytest.skip("no container engine (docker or podman) on this machine")
    info = subprocess.run([engine, "info"], capture_output=True)
    if info.returncode != 0:
        pytest.skip(f"{engine} is installed but its daemon does not answer")
    wheel_dir = packaged / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheel_dir),
         str(Path(__file__).resolve().parents[2])],
        check=True, capture_output=True,
    )  # fmt: skip
    build = subprocess.run([engine, "build", "-t", "conveyor-test-churn:2", str(packaged)],
                           capture_output=True, text=True)  # fmt: skip
    assert build.returncode == 0, build.stderr[-4000:]


@pytest.mark.server
def test_package_against_a_server(
    packaged: Path, tmp_path: Path, home_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.backend import reset_backends
    from conveyor.config import reset_settings

    out = tmp_path / "remote-ctx"
    with ServerThread(create_app(home_backend)) as server:
        monkeypatch.setenv("CONVEYOR_URI", server.url)
        reset_settings()
        try:
            result = CliRunner().invoke(app, ["package", "churn/2", "--output", str(out)])
            missing = CliRunner().invoke(app, ["package", "churn/7", "-o", str(tmp_path / "y")])
        finally:
            reset_backends()
    assert result.exit_code == 0, result.output
    assert missing.exit_code == 1 and "no version 7" in missing.output
    for path in (packaged / "model").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (out / path.relative_to(packaged)).read_bytes()
    assert (out / "k8s" / "hpa.yaml").is_file()
