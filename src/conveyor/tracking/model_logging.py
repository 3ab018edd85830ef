"""``log_model``: save a model safely, upload its files to the active run, optionally register."""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.errors import Conflict, ValidationFailed
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

    @property
    def name(self) -> str:
        """MLflow 3's name for ``artifact_path``."""
        return self.artifact_path

    @property
    def registered_model_version(self) -> int | None:
        """The registered version number (MLflow's field), or None."""
        return None if self.registered_version is None else self.registered_version.version


#: MLflow ``log_model`` keywords Conveyor cannot honour, with what to do instead.
_UNSUPPORTED = {
    "conda_env": "Conveyor records pip requirements only; pass pip_requirements=[...]",
    "code_paths": "Conveyor does not bundle source files with a model; install your code as "
    "a package (it is recorded in pip_requirements) or wrap it in a conveyor.models.PythonModel",
    "serialization_format": "Conveyor never pickles: it picks the safe format itself (skops, "
    "native booster files, ONNX); drop serialization_format",
    "params": "models carry no params of their own in Conveyor; log them to the run with "
    "conveyor.log_params()",
    "tags": "put model facts in metadata={...} (stored in the manifest) or set version tags "
    "with conveyor.MlflowClient().set_model_version_tag()",
    "model_type": "put it in metadata={'model_type': ...}",
    "step": "models are not tied to a step; log the step as a metric or put it in metadata=",
    "model_id": "Conveyor has no separate logged-model objects: a model is the files of a "
    "run, addressed as runs:/<run_id>/<name>",
    "pyfunc_predict_fn": "a loaded Conveyor model offers predict() and predict_proba()",
    "prompts": "prompt registries are not supported",
    "resources": "serving resources are set at deploy time (conveyor deploy)",
    "auth_policy": "access is governed by Conveyor's permissions, not by the model",
    "python_model": "pass the conveyor.models.PythonModel as the first argument",
    "loader_module": "pass the conveyor.models.PythonModel as the first argument",
}
#: MLflow keywords accepted without effect: Conveyor already behaves as they ask.
_IGNORED = ("await_registration_for",)


def log_model(
    model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    input_example: Any = None,
    signature: Any = None,
    flavor: str | None = None,
    registered_model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    artifacts: dict[str, Any] | None = None,
    **mlflow_options: Any,
) -> ModelInfo:
    """Save ``model`` in its safe format under the active run as ``name`` (default
    ``"model"``); MLflow 3's spelling ``log_model(model, name="model")`` works as is.

    The signature is inferred from ``input_example`` when not given. With
    ``registered_model_name`` the logged model is also registered as the next version.
    ``artifact_path=`` is MLflow 2's deprecated name for ``name``. MLflow keywords that
    Conveyor cannot honour raise ValidationFailed saying what to use instead.
    """
    from conveyor.models import save_model
    from conveyor.tracking.service import check_artifact_path

    name = _model_name(name, artifact_path)
    _check_mlflow_options(mlflow_options)
    signature = _mlflow_signature(signature)
    requirements = [*(pip_requirements or []), *(extra_pip_requirements or [])] or None
    artifact_path = check_artifact_path(name)
    with fluent._run_for_call() as run:
        if run.backend.list_artifacts(run.run.id, artifact_path):
            raise Conflict(
                f"run {run.run.id} already has a model (or other artifacts) at "
                f"{artifact_path!r}; artifacts are immutable, so log_model will not replace "
                "them. Pass another name= (e.g. 'model-2') or log the new model in a "
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
                pip_requirements=requirements,
                artifacts=artifacts,
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


def _model_name(name: str | None, artifact_path: str | None) -> str:
    if artifact_path is None:
        return name or "model"
    if name is not None and name != artifact_path:
        raise ValidationFailed(
            f"pass name= only: artifact_path={artifact_path!r} is its deprecated alias and "
            f"disagrees with name={name!r}"
        )
    warnings.warn(
        "log_model(artifact_path=...) is deprecated (as in MLflow 3); use name=...",
        DeprecationWarning,
        stacklevel=3,
    )
    return artifact_path


def _mlflow_signature(signature: Any) -> Any:
    """An MLflow ``ModelSignature`` (column-based) as Conveyor's; anything else unchanged."""
    to_dict = getattr(signature, "to_dict", None)
    if signature is None or isinstance(signature, dict) or not callable(to_dict):
        return signature
    block = to_dict()
    if isinstance(block, dict) and isinstance(block.get("inputs"), str):
        from conveyor.models.signature import Signature

        return Signature.from_mlflow(block)
    return signature


def _check_mlflow_options(options: dict[str, Any]) -> None:
    for key in options:
        if key in _IGNORED:
            continue
        hint = _UNSUPPORTED.get(key)
        if hint is not None:
            raise ValidationFailed(f"log_model does not support {key}=: {hint}.")
        raise ValidationFailed(
            f"log_model got an unknown keyword {key}=; it takes name=, input_example=, "
            "signature=, flavor=, registered_model_name=, metadata=, pip_requirements=, "
            "extra_pip_requirements= and artifacts= (custom Python models)."
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
