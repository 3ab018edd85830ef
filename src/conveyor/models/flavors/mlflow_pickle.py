"""mlflow_pickle flavor: a model MLflow stored with pickle or cloudpickle (scikit-learn
models saved with ``serialization_format="cloudpickle"`` or before skops, LightGBM/XGBoost
scikit-learn wrappers).

Conveyor never writes this flavor (``detect`` is always False); ``conveyor import mlflow``
and the ``/api/2.0/mlflow`` registry record it. Unpickling runs arbitrary code, so loading
needs pickle allowed explicitly (``allow_pickle=True``, ``CONVEYOR_ALLOW_PICKLE=1``, or an
admin's trust of the version for deployments: :mod:`conveyor.registry.pickle_trust`), and
says so otherwise. To get a safe copy: load it once with pickle allowed and log it again
with ``conveyor.log_model`` (skops or a native booster file).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from conveyor.errors import PermissionDenied, ValidationFailed
from conveyor.models.flavors.base import Flavor, Predictor
from conveyor.models.flavors.sklearn import SklearnPredictor

__all__ = ["MlflowPickleFlavor"]


class MlflowPickleFlavor(Flavor):
    name = "mlflow_pickle"
    packages = ("scikit-learn",)

    def detect(self, model: Any) -> bool:
        return False

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        raise ValidationFailed(
            "the mlflow_pickle flavor is only for models imported from MLflow; log models "
            "with conveyor.log_model (safe formats)"
        )

    def pickle_format(self, options: dict[str, Any]) -> str | None:
        return str(options.get("format") or "pickle")

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        file = str(options["file"])
        if not allow_pickle:
            raise PermissionDenied(
                f"this model was logged by MLflow, which stored it with "
                f"{options.get('format', 'pickle')} ({file}); unpickling can run arbitrary "
                "code. If you trust its origin, load it with allow_pickle=True or set "
                "CONVEYOR_ALLOW_PICKLE=1 (to deploy it: `conveyor deploy ... --trust-pickle`, "
                "admin only) — then log it again with conveyor.log_model to get a safe copy.",
                details={"flavor": self.name, "file": file},
            )
        if options.get("format") == "cloudpickle":
            try:
                import cloudpickle  # noqa: F401  (its pickles reference it)
            except ImportError:
                raise ValidationFailed(
                    f"{file} was written by cloudpickle; pip install cloudpickle to load it"
                ) from None
        with open(path / file, "rb") as fh:
            model = pickle.load(fh)
        return SklearnPredictor(model)
