"""Model URIs: ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>@<alias>``, ``models:/<name>/latest``; where they point, and their files
in a local cache. Pure of any transport: the caller passes what answers
``get_model_version`` / ``list_artifacts`` / ``download_blob`` (a client, or ``Stores``
for the parts it offers). ``conveyor.registry.sdk.load_model`` is the SDK's entry point.

Materialising downloads each file into a local cache keyed by the manifest's sha256, every
blob verified against its sha256 on the way, and the models layer verifies every file
against the manifest again before deserialising anything.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.artifacts.paths import check_relative_path
from conveyor.config import get_settings
from conveyor.errors import NotFound, ValidationFailed

__all__ = ["ResolvedModel", "materialize", "parse_run_uri", "resolve_model_uri"]

MANIFEST_NAME = "conveyor-model.json"


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI points: its files (path, sha256, size) and manifest digest."""

    uri: str
    manifest_sha256: str
    files: list[dict[str, Any]]
    name: str | None = None
    version: int | None = None


def parse_run_uri(uri: str) -> tuple[str, str]:
    """Split ``runs:/<run_id>/<path>`` into run id and artifact path."""
    from conveyor.tracking.service import check_artifact_path

    if not isinstance(uri, str) or not uri.startswith("runs:/"):
        raise ValidationFailed(f"expected a runs:/<run_id>/<path> URI, got {uri!r}")
    rest = uri[len("runs:/") :].strip("/")
    run_id, _, path = rest.partition("/")
    if not run_id or not path:
        raise ValidationFailed(f"URI {uri!r} must name a run and a path: runs:/<run_id>/<path>")
    return run_id, check_artifact_path(path)


def _parse_models_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("models:/") :].strip("/")
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if name and alias:
            return name, alias
    else:
        name, _, ref = rest.rpartition("/")
        if name and ref:
            return name, ref
    raise ValidationFailed(
        f"bad model URI {uri!r}: use models:/<name>/<version>, models:/<name>@<alias> "
        "or models:/<name>/latest"
    )


def resolve_model_uri(backend: Any, uri: str) -> ResolvedModel:
    """Find the files a ``runs:/`` or ``models:/`` URI refers to."""
    if not isinstance(uri, str) or not uri:
        raise ValidationFailed("model URI must be a non-empty string")
    if uri.startswith("models:/"):
        name, ref = _parse_models_uri(uri)
        mv = backend.get_model_version(name, ref)
        return ResolvedModel(uri, mv.manifest_sha256, mv.files, mv.name, mv.version)
    if uri.startswith("runs:/"):
        run_id, path = parse_run_uri(uri)
        entries = backend.list_artifacts(run_id, path)
        files = [{**e, "path": e["path"][len(path) + 1 :]} for e in entries]
        manifest = next((f for f in files if f["path"] == MANIFEST_NAME), None)
        if manifest is None:
            raise NotFound(f"run {run_id} has no model at {path!r} (no {MANIFEST_NAME})")
        return ResolvedModel(uri, manifest["sha256"], files)
    raise ValidationFailed(
        f"unsupported model URI {uri!r}: use runs:/<run_id>/<path>, models:/<name>/<version>, "
        "models:/<name>@<alias>, or a local folder"
    )


def materialize(backend: Any, resolved: ResolvedModel, cache_root: Path | None = None) -> Path:
    """The model's files in a local folder (downloaded once, verified per blob)."""
    cache_root = cache_root or get_settings().home_path / "cache" / "models"
    target = cache_root / resolved.manifest_sha256
    if (target / MANIFEST_NAME).is_file():
        return target  # every file is re-verified by the loader anyway
    staging = cache_root / f".{resolved.manifest_sha256}.{uuid.uuid4().hex}"
    try:
        for entry in resolved.files:
            rel = entry["path"]
            check_relative_path(rel, "model file path")
            backend.download_blob(entry["sha256"], staging / rel)
        try:
            os.replace(staging, target)
        except OSError:  # another process materialised it first
            if not (target / MANIFEST_NAME).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
