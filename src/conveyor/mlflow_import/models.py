"""An MLflow model folder (``MLmodel`` + files) → a Conveyor model package.

The MLflow files are kept as they are; a ``conveyor-model.json`` manifest is added that
lists them with their sha256 and says how to load them:

======================================  =================================================
MLflow flavor (``MLmodel``)             Conveyor flavor
======================================  =================================================
``onnx``                                ``onnx`` (safe)
``xgboost`` (native ``.xgb/.json/.ubj``)  ``xgboost`` (safe)
``lightgbm`` Booster (text model)       ``lightgbm`` (safe)
``sklearn`` with ``serialization_format: skops``  ``sklearn`` (safe; types checked by trust.py)
``sklearn`` pickle / cloudpickle, LightGBM/XGBoost scikit-learn wrappers pickled
                                        ``mlflow_pickle``: loads only with pickle allowed
======================================  =================================================

Anything else (custom ``python_function`` models, transformers ...) is imported as run
artifacts only: :func:`conveyor_manifest` returns the reason it cannot be registered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

from conveyor.errors import ConveyorError
from conveyor.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest
from conveyor.models.signature import TYPES, Signature

__all__ = ["MLMODEL", "conveyor_manifest"]

MLMODEL = "MLmodel"
_PICKLE_FORMATS = ("pickle", "cloudpickle")


def _flavor(flavors: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """(Conveyor flavor, options) for the MLflow flavors, or why there is none."""
    if "onnx" in flavors:
        return "onnx", {"file": str(flavors["onnx"].get("data", "model.onnx"))}
    if "xgboost" in flavors:
        spec = flavors["xgboost"]
        kind = str(spec.get("model_class", "")).rsplit(".", 1)[-1]
        kind = kind if kind in ("XGBClassifier", "XGBRegressor") else "Booster"
        return "xgboost", {"file": str(spec.get("data", "model.xgb")), "model_class": kind}
    if "lightgbm" in flavors:
        spec = flavors["lightgbm"]
        data = str(spec.get("data", "model.lgb"))
        if str(spec.get("model_class", "")).endswith(".Booster") and not data.endswith(".pkl"):
            return "lightgbm", {"file": data, "model_class": "Booster"}
        return "mlflow_pickle", {"file": data, "format": "pickle", "mlflow_flavor": "lightgbm"}
    if "sklearn" in flavors:
        spec = flavors["sklearn"]
        file = str(spec.get("pickled_model", "model.pkl"))
        fmt = str(spec.get("serialization_format", "cloudpickle"))
        if fmt == "skops":
            return "sklearn", {"file": file}
        if fmt in _PICKLE_FORMATS:
            return "mlflow_pickle", {"file": file, "format": fmt, "mlflow_flavor": "sklearn"}
        return f"its sklearn serialization_format {fmt!r} is unknown to Conveyor"
    names = ", ".join(sorted(flavors)) or "none"
    return (
        f"its MLflow flavors ({names}) have no Conveyor equivalent (Conveyor registers onnx, "
        "xgboost, lightgbm and sklearn models)"
    )


def _signature(block: Any) -> dict[str, Any] | None:
    """Conveyor's signature from MLflow's column-based one (tensor signatures: None)."""
    if not isinstance(block, dict) or not block.get("inputs"):
        return None
    try:
        signature = Signature.from_mlflow(block)
    except (TypeError, ValueError, ConveyorError):
        return None
    if any(c.type not in TYPES for c in (*signature.inputs, *(signature.outputs or ()))):
        return None
    return signature.to_dict()


def conveyor_manifest(
    files: list[str], read: Callable[[str], bytes]
) -> tuple[ModelManifest | None, str]:
    """The manifest to add to an MLflow model folder whose files are ``files``, or None and
    the reason the model cannot be registered in Conveyor."""
    if MLMODEL not in files:
        return None, "the folder has no MLmodel file"
    mlmodel = yaml.safe_load(read(MLMODEL)) or {}
    choice = _flavor(mlmodel.get("flavors") or {})
    if isinstance(choice, str):
        return None, choice
    flavor, options = choice
    if options["file"] not in files:
        return None, f"its model file {options['file']!r} is missing"
    entries = []
    for rel in sorted(f for f in files if f != MANIFEST_NAME):
        data = read(rel)
        entries.append(FileEntry(rel, hashlib.sha256(data).hexdigest(), len(data)))
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    requirements = None
    if "requirements.txt" in files:
        lines = read("requirements.txt").decode("utf-8", "replace").splitlines()
        requirements = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    manifest = ModelManifest(
        flavor=flavor,
        flavor_options=options,
        files=tuple(entries),
        signature=_signature(mlmodel.get("signature")),
        python_version=str(pyfunc.get("python_version", "")),
        pip_requirements=requirements,
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        metadata={
            "mlflow": {
                k: str(mlmodel[k])
                for k in ("model_id", "run_id", "mlflow_version", "utc_time_created")
                if mlmodel.get(k) is not None
            }
            | {"flavors": sorted(mlmodel.get("flavors") or {})}
        },
    )
    return manifest, ""
