"""Registering a logged model: read its manifest from the run's artifacts, write the version."""

from __future__ import annotations

import json
from typing import Any

from conveyor._schema import Name, Tags
from conveyor.errors import IntegrityError, NotFound
from conveyor.registry import service
from conveyor.registry.entities import ModelVersion
from conveyor.registry.uris import MANIFEST_NAME, parse_run_uri
from conveyor.store.stores import Stores
from conveyor.tracking import service as tracking

__all__ = ["check_stored_model", "register_model"]


def register_model(
    stores: Stores,
    model_uri: str,
    name: Name,
    *,
    description: str = "",
    tags: Tags = None,
) -> ModelVersion:
    """Register the model logged at ``runs:/<run_id>/<path>`` as the next version of ``name``."""
    run_id, path = parse_run_uri(model_uri)
    manifest_path = f"{path}/{MANIFEST_NAME}"
    with stores.read() as conn:
        entries = tracking.list_run_artifacts(conn, run_id, path)
        run = tracking.get_run(conn, run_id)
    manifest_entry = next((e for e in entries if e["path"] == manifest_path), None)
    if manifest_entry is None:
        raise NotFound(f"run {run_id} has no artifact {manifest_path!r}")
    manifest = json.loads(stores.artifacts.read_bytes(manifest_entry["sha256"]))
    files = [{**e, "path": e["path"][len(path) + 1 :]} for e in entries]
    check_stored_model(stores.artifacts, manifest_entry["sha256"], files)  # before recording
    reference = next((i["dataset_version_id"] for i in run.inputs), None)
    with stores.write() as uow:
        mv = service.create_model_version(
            uow,
            name,
            source=f"runs:/{run_id}/{path}",
            run_id=run_id,
            manifest_sha256=manifest_entry["sha256"],
            flavor=str(manifest.get("flavor", "unknown")),
            signature=manifest.get("signature"),
            files=files,
            description=description,
            tags=tags,
            reference_dataset_version_id=reference,
        )
    _explain(stores, mv)
    return mv


def _explain(stores: Stores, mv: ModelVersion) -> None:
    """The version's global feature importance over its input example, when cheap (tree
    and linear models; setting ``explain_at_registration``). Never fails the registration."""
    from conveyor.config import get_settings

    if get_settings().explain_at_registration:
        from conveyor.explain.summary import summarize_at_registration

        summarize_at_registration(stores, mv)


def check_stored_model(artifacts: Any, manifest_sha256: str, files: list[dict[str, Any]]) -> None:
    """Refuse a stored model that no machine should load (registration and deploy run this
    before recording anything): the manifest must list the stored files with their sha256,
    and each flavor checks its files without loading them (skops types: see
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
