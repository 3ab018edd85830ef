"""Registering a logged model: read its manifest from the run's artifacts, write the version."""

from __future__ import annotations

import json

from conveyor.errors import NotFound
from conveyor.registry import service
from conveyor.registry.entities import ModelVersion
from conveyor.registry.uris import MANIFEST_NAME, parse_run_uri
from conveyor.store.stores import Stores
from conveyor.tracking import service as tracking

__all__ = ["register_model"]


def register_model(
    stores: Stores,
    name: str,
    source: str,
    *,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> ModelVersion:
    """Register the model logged at ``runs:/<run_id>/<path>`` as the next version of ``name``."""
    run_id, path = parse_run_uri(source)
    manifest_path = f"{path}/{MANIFEST_NAME}"
    with stores.read() as conn:
        entries = tracking.list_run_artifacts(conn, run_id, path)
        run = tracking.get_run(conn, run_id)
    manifest_entry = next((e for e in entries if e["path"] == manifest_path), None)
    if manifest_entry is None:
        raise NotFound(f"run {run_id} has no artifact {manifest_path!r}")
    manifest = json.loads(stores.artifacts.read_bytes(manifest_entry["sha256"]))
    files = [{**e, "path": e["path"][len(path) + 1 :]} for e in entries]
    reference = next((i["dataset_version_id"] for i in run.inputs), None)
    with stores.write() as uow:
        return service.create_model_version(
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
