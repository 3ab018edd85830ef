"""MLflow model directories (an ``MLmodel`` file) as Conveyor model versions.

The MLflow files are kept as they are; a Conveyor manifest (``conveyor-model.json``)
listing them with their sha256 says how Conveyor loads them. One mapping serves the
``/api/2.0/mlflow`` registry (models the stock client logs) and ``conveyor import mlflow``:

======================================  =================================================
MLflow flavor (``MLmodel``)             Conveyor flavor
======================================  =================================================
``onnx``                                ``onnx`` (safe)
``xgboost`` (native ``.xgb/.json/.ubj``)  ``xgboost`` (safe)
``lightgbm`` Booster (text model)       ``lightgbm`` (safe)
``sklearn`` with ``serialization_format: skops``  ``sklearn`` (safe; types checked by trust.py)
``sklearn`` pickle / cloudpickle, LightGBM/XGBoost scikit-learn wrappers pickled
                                        ``mlflow_pickle``: loads only when trusted
                                        (:mod:`conveyor.registry.pickle_trust`)
======================================  =================================================

Anything else (custom ``python_function`` models, transformers ...) has no Conveyor
loader: :func:`conveyor_manifest` returns the reason, and the registry records the
version with flavor ``mlflow`` (visible, loadable by the stock MLflow client, refused by
deployment: :func:`refusal`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from conveyor.errors import ConveyorError, PermissionDenied
from conveyor.models.manifest import FileEntry, ModelManifest
from conveyor.models.signature import TYPES, Signature

__all__ = ["MLFLOW_FLAVOR", "MLMODEL", "conveyor_manifest", "describe", "refusal"]

#: the registry flavor of an MLflow model Conveyor has no loader for
MLFLOW_FLAVOR = "mlflow"
MLMODEL = "MLmodel"
_PICKLE_FORMATS = ("pickle", "cloudpickle")


def _mlmodel(data: bytes) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


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
    mlmodel: bytes, entries: Sequence[FileEntry], read: Callable[[str], bytes]
) -> tuple[ModelManifest | None, str]:
    """The manifest to add to an MLflow model folder whose files (the MLmodel included,
    no Conveyor manifest) are ``entries``, or None and the reason Conveyor cannot load it.
    ``read(rel_path)`` gives a file's bytes (only ``requirements.txt`` is read)."""
    doc = _mlmodel(mlmodel)
    flavors = doc.get("flavors") or {}
    choice = _flavor(flavors if isinstance(flavors, dict) else {})
    if isinstance(choice, str):
        return None, choice
    flavor, options = choice
    paths = {e.path for e in entries}
    if options["file"] not in paths:
        return None, f"its model file {options['file']!r} is missing"
    pyfunc = flavors.get("python_function") or {}
    requirements = None
    if "requirements.txt" in paths:
        lines = read("requirements.txt").decode("utf-8", "replace").splitlines()
        requirements = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    version = (flavors.get("sklearn") or {}).get("sklearn_version")
    packages = {"scikit-learn": str(version)} if version else {}
    manifest = ModelManifest(
        flavor=flavor,
        flavor_options=options,
        files=tuple(sorted(entries, key=lambda e: e.path)),
        signature=_signature(doc.get("signature")),
        python_version=str(pyfunc.get("python_version") or doc.get("python_version") or ""),
        packages=packages,
        pip_requirements=requirements,
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        metadata={
            "mlflow": {
                k: str(doc[k])
                for k in ("model_id", "run_id", "mlflow_version", "utc_time_created")
                if doc.get(k) is not None
            }
            | {"flavors": sorted(flavors)}
        },
    )
    return manifest, ""


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


def refusal(name: str, version: int, mlmodel: bytes) -> PermissionDenied:
    """Why an MLflow-format version Conveyor has no loader for cannot be deployed."""
    return PermissionDenied(
        f"model {name} version {version} was logged by MLflow as {describe(mlmodel)}, a "
        "format Conveyor has no loader for. Log it again with mlflow.sklearn.log_model(...) "
        "(skops), an ONNX, XGBoost or LightGBM flavor, or conveyor.log_model(...), register "
        "that version and deploy it; the stock MLflow client can still load this one "
        "(mlflow.pyfunc.load_model).",
        details={"model": name, "version": version, "format": describe(mlmodel)},
    )
