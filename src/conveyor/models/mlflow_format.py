"""MLflow model directories (an ``MLmodel`` file) as Conveyor model versions.

A format Conveyor can load safely gets a Conveyor manifest (``conveyor-model.json``)
written beside the MLflow files, so the version loads with ``conveyor.load_model`` and
deploys like any other: today scikit-learn saved with skops (MLflow 3's default
``serialization_format``), checked against the trusted types at registration. Any other
format (pickle, cloudpickle, flavors Conveyor has no loader for) is recorded with flavor
``mlflow``: visible in the registry and loadable by the stock MLflow client, refused by
deployment with the reason (:func:`refusal`).
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from typing import Any

import yaml

from conveyor.errors import PermissionDenied
from conveyor.models.manifest import FileEntry, ModelManifest

__all__ = ["MLFLOW_FLAVOR", "conveyor_manifest", "describe", "refusal"]

#: the registry flavor of an MLflow model Conveyor cannot load itself
MLFLOW_FLAVOR = "mlflow"
_SIGNATURE_FIELDS = ("name", "type", "required")


def _mlmodel(data: bytes) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _signature(doc: dict[str, Any]) -> dict[str, Any] | None:
    """MLflow's column signature in Conveyor's shape (None for tensor signatures)."""
    sig = doc.get("signature") or {}
    out: dict[str, Any] = {}
    for part in ("inputs", "outputs"):
        raw = sig.get(part)
        if not raw:
            continue
        try:
            specs = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None
        if not isinstance(specs, list) or any(
            not isinstance(s, dict) or s.get("type") == "tensor" for s in specs
        ):
            return None
        out[part] = [
            {k: s[k] for k in _SIGNATURE_FIELDS if k in s} | {"required": s.get("required", True)}
            for s in specs
        ]
    return out or None


def describe(mlmodel: bytes) -> str:
    """``sklearn (cloudpickle)``: the flavors and serialization of an MLmodel, for messages."""
    flavors = _mlmodel(mlmodel).get("flavors") or {}
    parts = []
    for name, conf in flavors.items():
        if name == "python_function":
            continue
        fmt = (conf or {}).get("serialization_format") if isinstance(conf, dict) else None
        parts.append(f"{name} ({fmt})" if fmt else name)
    return ", ".join(parts) or "no known flavor"


def conveyor_manifest(mlmodel: bytes, files: list[dict[str, Any]]) -> ModelManifest | None:
    """A Conveyor manifest over an MLflow model's files, or None when Conveyor has no safe
    loader for its format."""
    doc = _mlmodel(mlmodel)
    sklearn = (doc.get("flavors") or {}).get("sklearn")
    if not isinstance(sklearn, dict) or sklearn.get("serialization_format") != "skops":
        return None
    model_file = str(sklearn.get("pickled_model") or "model.skops")
    if model_file not in {f["path"] for f in files}:
        return None
    return ModelManifest(
        flavor="sklearn",
        flavor_options={"file": model_file},
        files=tuple(FileEntry(str(f["path"]), str(f["sha256"]), int(f["size"])) for f in files),
        signature=_signature(doc),
        python_version=str(doc.get("python_version") or platform.python_version()),
        packages={"scikit-learn": str(sklearn.get("sklearn_version", ""))},
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        metadata={"logged_by": "mlflow", "mlflow_version": str(doc.get("mlflow_version", ""))},
    )


def refusal(name: str, version: int, mlmodel: bytes) -> PermissionDenied:
    """Why an MLflow-format version cannot be deployed, and what to do instead."""
    return PermissionDenied(
        f"model {name} version {version} was logged by MLflow as {describe(mlmodel)}, a "
        "format Conveyor does not load: pickle and cloudpickle run arbitrary code when "
        "loaded, and Conveyor loads no pickle it did not write. Log it again with "
        "mlflow.sklearn.log_model(..., serialization_format='skops') (MLflow 3's default) or "
        "conveyor.log_model(...), register that version and deploy it; the stock MLflow "
        "client can still load this one (mlflow.pyfunc.load_model).",
        details={"model": name, "version": version, "format": describe(mlmodel)},
    )
