"""Packaging a model version as a container build context (``conveyor package``).

:func:`package_model` writes, into one folder::

    Dockerfile          python:<model's Python>-slim, installs requirements.txt, runs entrypoint.sh
    requirements.txt    conveyor-mlops and the model's recorded packages, pinned (==)
    wheels/             optional local wheels (pip searches here first: --find-links)
    model/              the model's files, each checked against the manifest's sha256
    bundle.json         what was packaged: model, version, endpoint, manifest sha256
    entrypoint.sh       bootstrap the store from model/, then `exec conveyor serve <endpoint>`
    k8s/                deployment.yaml (probes on /v2/health/*), service.yaml, hpa.yaml

The serving folder is self-contained: on start, :func:`bootstrap` registers ``model/`` into
an embedded store under ``$CONVEYOR_HOME`` (default ``<folder>/.conveyor``) and deploys it
to the endpoint (natively, no ONNX compile, so the image needs only the model's packages),
then the entry point runs ``conveyor serve``. Restarts reuse the store (the bootstrap is
idempotent). ``python -m conveyor.deployments.packaging <folder>`` runs the bootstrap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from conveyor import __version__
from conveyor.errors import IntegrityError, NotFound, ValidationFailed
from conveyor.models.manifest import MANIFEST_NAME, ModelManifest, hash_file
from conveyor.registry.uris import materialize, resolve_model_uri

__all__ = ["BUNDLE_NAME", "Bundle", "Resources", "bootstrap", "package_model"]

BUNDLE_NAME = "bundle.json"
PORT = 8080
_NAME_RE = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Resources:
    """Kubernetes resource requests/limits and autoscaling bounds for the Deployment."""

    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"
    min_replicas: int = 1
    max_replicas: int = 5
    target_cpu_percent: int = 70


@dataclass(frozen=True)
class Bundle:
    """What a build context holds (``bundle.json``)."""

    model: str
    version: int
    endpoint: str
    manifest_sha256: str
    image: str
    conveyor_version: str


def _k8s_name(text: str) -> str:
    """A DNS-1123 label from ``text`` (lowercase, digits and dashes, at most 63 chars)."""
    name = _NAME_RE.sub("-", text.lower()).strip("-")[:63].strip("-")
    if not name:
        raise ValidationFailed(f"cannot derive a Kubernetes name from {text!r}; pass --endpoint")
    return name


def _parse_ref(ref: str) -> tuple[str, str]:
    name, sep, version = ref.rpartition("/")
    if not sep or not name or not version.isdigit():
        raise ValidationFailed(f"bad model reference {ref!r}: use <model>/<version>, e.g. churn/3")
    return name, version


def _check_output(output: Path, force: bool) -> None:
    if output.exists() and not output.is_dir():
        raise ValidationFailed(f"{output} exists and is not a folder; choose another --output")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise ValidationFailed(
            f"{output} is not empty; choose an empty or new folder, or pass --force to "
            "replace its contents"
        )


def _verify(folder: Path, manifest_sha256: str) -> ModelManifest:
    """Check the materialised files: the manifest is the registered one, every listed file
    hashes to its sha256, and nothing unlisted is present."""
    actual, _ = hash_file(folder / MANIFEST_NAME)
    if actual != manifest_sha256:
        raise IntegrityError(
            f"the model's manifest hashes to {actual}, the registry recorded {manifest_sha256}",
            details={"file": MANIFEST_NAME, "expected": manifest_sha256, "actual": actual},
        )
    manifest = ModelManifest.read(folder)
    for entry in manifest.files:
        entry.verify(folder)
    listed = {f.path for f in manifest.files} | {MANIFEST_NAME}
    extra = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    unlisted = [p for p in extra if p not in listed]
    if unlisted:
        raise IntegrityError(f"the model folder holds files its manifest does not list: {unlisted}")
    return manifest


def _requirements(manifest: ModelManifest) -> str:
    lines = [f"conveyor-mlops=={__version__}"]
    if manifest.pip_requirements:
        lines += [str(r) for r in manifest.pip_requirements]
    else:
        lines += [f"{name}=={version}" for name, version in sorted(manifest.packages.items())]
    return "\n".join(lines) + "\n"


def _python_tag(manifest: ModelManifest) -> str:
    major_minor = ".".join(manifest.python_version.split(".")[:2])
    if not re.fullmatch(r"3\.\d+", major_minor):
        major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    return major_minor


def _dockerfile(python: str) -> str:
    return f"""\
# Built by `conveyor package`: serves the model in model/ with `conveyor serve`.
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \\
    CONVEYOR_HOME=/var/lib/conveyor CONVEYOR_SERVE_HOST=0.0.0.0 CONVEYOR_SERVE_PORT={PORT}
WORKDIR /app
COPY requirements.txt ./
COPY wheels/ ./wheels/
RUN pip install --find-links ./wheels -r requirements.txt
COPY . .
RUN useradd --uid 10001 --no-create-home conveyor \\
    && mkdir -p /var/lib/conveyor && chown conveyor /var/lib/conveyor
USER 10001
EXPOSE {PORT}
ENTRYPOINT ["sh", "/app/entrypoint.sh"]
"""


def _entrypoint(endpoint: str) -> str:
    return f"""\
#!/bin/sh
# Register and deploy the bundled model into an embedded store, then serve it.
set -e
cd "$(dirname "$0")"
export CONVEYOR_HOME="${{CONVEYOR_HOME:-$PWD/.conveyor}}"
PYTHON="${{CONVEYOR_PYTHON:-python}}"
"$PYTHON" -m conveyor.deployments.packaging "$PWD"
exec "$PYTHON" -m conveyor serve {endpoint} --no-log \\
    --host "${{CONVEYOR_SERVE_HOST:-0.0.0.0}}" --port "${{CONVEYOR_SERVE_PORT:-{PORT}}}"
"""


def _manifests(bundle: Bundle, resources: Resources) -> dict[str, dict[str, Any]]:
    name = bundle.endpoint
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "conveyor"}
    probe = {"httpGet": {"path": "", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": resources.min_replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"conveyor/model": f"{bundle.model}/{bundle.version}"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "model",
                            "image": bundle.image,
                            "ports": [{"name": "http", "containerPort": PORT}],
                            "readinessProbe": {
                                **probe,
                                "httpGet": {"path": "/v2/health/ready", "port": "http"},
                                "initialDelaySeconds": 5,
                            },
                            "livenessProbe": {
                                **probe,
                                "httpGet": {"path": "/v2/health/live", "port": "http"},
                                "initialDelaySeconds": 30,
                                "failureThreshold": 3,
                            },
                            "resources": {
                                "requests": {
                                    "cpu": resources.cpu_request,
                                    "memory": resources.memory_request,
                                },
                                "limits": {
                                    "cpu": resources.cpu_limit,
                                    "memory": resources.memory_limit,
                                },
                            },
                        }
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": resources.min_replicas,
            "maxReplicas": resources.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": resources.target_cpu_percent,
                        },
                    },
                }
            ],
        },
    }
    return {"deployment.yaml": deployment, "service.yaml": service, "hpa.yaml": hpa}


def package_model(
    backend: Any,
    ref: str,
    output: Path,
    *,
    endpoint: str | None = None,
    image: str | None = None,
    resources: Resources | None = None,
    force: bool = False,
) -> Bundle:
    """Write the build context for model version ``ref`` (``<model>/<version>``) to ``output``.

    The files are fetched through the registry (each blob verified on download) and checked
    again against the manifest. The folder is written beside ``output`` and moved into place
    at the end, so a failure leaves ``output`` as it was. Raises NotFound for an unknown
    model or version, ValidationFailed for a non-empty ``output`` without ``force``.
    """
    resources = resources or Resources()
    if resources.min_replicas < 1 or resources.max_replicas < resources.min_replicas:
        raise ValidationFailed(
            f"replicas must satisfy 1 <= min ({resources.min_replicas}) <= max "
            f"({resources.max_replicas})"
        )
    name, version = _parse_ref(ref)
    output = Path(output)
    _check_output(output, force)
    resolved = resolve_model_uri(backend, f"models:/{name}/{version}")
    endpoint = _k8s_name(endpoint or name)
    bundle = Bundle(
        model=name,
        version=int(version),
        endpoint=endpoint,
        manifest_sha256=resolved.manifest_sha256,
        image=image or f"{endpoint}:{version}",
        conveyor_version=__version__,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.{uuid.uuid4().hex}"
    try:
        staging.mkdir()
        fetched = materialize(backend, resolved, cache_root=staging / ".fetch")
        os.replace(fetched, staging / "model")
        shutil.rmtree(staging / ".fetch")
        manifest = _verify(staging / "model", resolved.manifest_sha256)
        (staging / "requirements.txt").write_text(_requirements(manifest))
        (staging / "Dockerfile").write_text(_dockerfile(_python_tag(manifest)))
        (staging / "entrypoint.sh").write_text(_entrypoint(endpoint))
        (staging / "entrypoint.sh").chmod(0o755)
        (staging / "wheels").mkdir()
        (staging / "wheels" / ".keep").write_text("")
        (staging / ".dockerignore").write_text(".conveyor\nk8s\n")
        (staging / BUNDLE_NAME).write_text(json.dumps(asdict(bundle), indent=2) + "\n")
        (staging / "k8s").mkdir()
        for filename, doc in _manifests(bundle, resources).items():
            (staging / "k8s" / filename).write_text(yaml.safe_dump(doc, sort_keys=False))
        if output.exists():
            shutil.rmtree(output)  # only reached when empty or --force
        os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return bundle


def bootstrap(folder: Path, backend: Any | None = None) -> str:
    """Register ``folder/model`` into the embedded store and deploy it to the bundle's
    endpoint, unless an earlier start did; returns the endpoint name."""
    folder = Path(folder)
    try:
        bundle = Bundle(**json.loads((folder / BUNDLE_NAME).read_text()))
    except FileNotFoundError:
        raise NotFound(f"{folder} is not a packaged model: it has no {BUNDLE_NAME}") from None
    model_dir = folder / "model"
    _verify(model_dir, bundle.manifest_sha256)
    if backend is None:
        import conveyor

        backend = conveyor.connect()
    try:
        backend.get_revision(bundle.endpoint)
        return bundle.endpoint  # deployed by an earlier start
    except NotFound:
        pass
    run = backend.create_run(
        backend.get_or_create_experiment("packaged").id,
        name=f"{bundle.model}-{bundle.version}",
        tags={"conveyor.packaged_from": f"{bundle.model}/{bundle.version}"},
    )
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            backend.upload_artifact(run.id, f"model/{path.relative_to(model_dir).as_posix()}", fh)
    backend.end_run(run.id)
    mv = backend.register_model(
        model_uri=f"runs:/{run.id}/model",
        name=bundle.model,
        tags={"conveyor.packaged_version": str(bundle.version)},
    )
    backend.deploy(bundle.endpoint, model=f"{mv.name}/{mv.version}", compile=False)
    return bundle.endpoint


if __name__ == "__main__":  # the container's entry point runs this before `conveyor serve`
    if len(sys.argv) != 2:
        sys.exit("usage: python -m conveyor.deployments.packaging <packaged folder>")
    bootstrap(Path(sys.argv[1]))
