"""Model URIs and loading: ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>@<alias>``, ``models:/<name>/latest`` or a local model folder.

Loading downloads each file into a local cache keyed by the manifest's sha256, every
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

from conveyor.config import get_settings
from conveyor.errors import IntegrityError, NotFound, ValidationFailed

__all__ = ["ResolvedModel", "check_stored_model", "load_model", "materialize", "resolve_model_uri"]

MANIFEST_NAME = "conveyor-model.json"


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI points: its files (path, sha256, size) and manifest digest."""

    uri: str
    manifest_sha256: str
    files: list[dict[str, Any]]
    name: str | None = None
    version: int | None = None


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
        from conveyor.backend.local import parse_run_uri

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
            if rel.startswith("/") or ".." in rel.split("/"):
                raise ValidationFailed(f"model file path {rel!r} escapes the model folder")
            backend.download_blob(entry["sha256"], staging / rel)
        try:
            os.replace(staging, target)
        except OSError:  # another process materialised it first
            if not (target / MANIFEST_NAME).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def check_stored_model(artifacts: Any, manifest_sha256: str, files: list[dict[str, Any]]) -> None:
    """Refuse to register a stored model that no machine should load (run before the
    version is recorded): the manifest must list the stored files with their sha256, and
    each flavor checks its files without loading them (skops types, see
    :mod:`conveyor.models.trust`)."""
    from conveyor.models import package

    stored = {str(f["path"]): str(f["sha256"]) for f in files}

    def read(rel: str, sha256: str) -> bytes:
        if stored.get(rel) != sha256:
            raise IntegrityError(
                f"model file {rel!r} is not stored with the sha256 its manifest lists "
                f"({sha256[:12]}); log the model again",
                details={"file": rel, "expected": sha256, "actual": stored.get(rel)},
            )
        return bytes(artifacts.read_bytes(sha256))

    package.check_model(artifacts.read_bytes(manifest_sha256), read)


def load_model(uri: str | Path, *, allow_pickle: bool | None = None) -> Any:
    """Load a model by URI or local folder, verifying every file's sha256 first."""
    from conveyor.models import load_model as load_model_dir

    if isinstance(uri, Path) or (isinstance(uri, str) and ":/" not in uri):
        path = Path(uri)
        if not path.is_dir():
            raise NotFound(f"no model folder at {path}")
        return load_model_dir(path, allow_pickle=allow_pickle)
    from conveyor.backend import connect

    backend = connect()
    resolved = resolve_model_uri(backend, uri)
    folder = materialize(backend, resolved)
    try:
        return load_model_dir(folder, allow_pickle=allow_pickle)
    except IntegrityError:
        # The local cache was altered; the store's blobs are verified on download, so a
        # fresh copy is trustworthy. A second failure is the store's and is raised.
        shutil.rmtree(folder, ignore_errors=True)
        return load_model_dir(materialize(backend, resolved), allow_pickle=allow_pickle)
