"""``log_model``: save a model safely, upload its files to the active run, optionally register."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.errors import Conflict
from conveyor.registry.entities import ModelVersion
from conveyor.tracking import fluent

__all__ = ["ModelInfo", "log_model", "register_model"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` stored: where, its manifest digest, flavor and signature."""

    run_id: str
    artifact_path: str
    model_uri: str
    manifest_sha256: str
    flavor: str
    signature: dict[str, Any] | None
    registered_version: ModelVersion | None = None


def log_model(
    model: Any,
    artifact_path: str = "model",
    *,
    input_example: Any = None,
    signature: Any = None,
    flavor: str | None = None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    **save_options: Any,
) -> ModelInfo:
    """Save ``model`` in its safe format under the active run's ``artifact_path``.

    The signature is inferred from ``input_example`` when not given. With
    ``registered_model_name`` the logged model is also registered as the next version.
    """
    from conveyor.models import save_model
    from conveyor.tracking.service import check_artifact_path

    artifact_path = check_artifact_path(artifact_path)
    with fluent._run_for_call() as run:
        if run.backend.list_artifacts(run.run.id, artifact_path):
            raise Conflict(
                f"run {run.run.id} already has a model (or other artifacts) at "
                f"{artifact_path!r}; artifacts are immutable, so log_model will not replace "
                "them. Pass another artifact_path= (e.g. 'model-2') or log the new model in a "
                "new run.",
                details={"run_id": run.run.id, "artifact_path": artifact_path},
            )
        with tempfile.TemporaryDirectory(prefix="conveyor-model-") as tmp:
            folder = Path(tmp) / "model"
            manifest = save_model(
                model,
                folder,
                input_example=input_example,
                signature=signature,
                flavor=flavor,
                metadata=metadata,
                **save_options,
            )
            fluent.log_artifacts(folder, artifact_path)
    uri = f"runs:/{run.run.id}/{artifact_path}"
    version = register_model(uri, registered_model_name) if registered_model_name else None
    return ModelInfo(
        run_id=run.run.id,
        artifact_path=artifact_path,
        model_uri=uri,
        manifest_sha256=manifest.digest(),
        flavor=manifest.flavor,
        signature=manifest.signature,
        registered_version=version,
    )


def register_model(
    model_uri: str, name: str, *, description: str = "", tags: dict[str, str] | None = None
) -> ModelVersion:
    """Register the model logged at ``runs:/<run_id>/<path>`` as the next version of ``name``.

    Buffered params/metrics of an active run are flushed first so the version's lineage
    sees them.
    """
    run = fluent.active_run()
    if run is not None:
        run.buffer.flush()
    version: ModelVersion = fluent._backend().register_model(
        model_uri, name, description=description, tags=tags
    )
    return version
