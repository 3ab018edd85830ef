"""scikit-learn flavor: skops files, loaded only with the types the loading side trusts.

Saving writes ``model.skops`` with ``skops.io.dump`` and records in the manifest the types
skops does not trust by default (``trusted_types``) — for information only. Loading never
reads that list: it asks skops which types the file's bytes need and lets
:mod:`conveyor.models.trust` decide (skops' defaults, Conveyor's allowlist of estimator and
array types, the operator's ``trusted_model_types`` setting), then calls
``skops.io.loads(<the same bytes>, trusted=<the approved list>)``. Saving applies the same
check, so a model that would be refused on load is refused when logged. No pickle is
involved at any point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed
from conveyor.models import trust
from conveyor.models.flavors.base import Flavor, Predictor

__all__ = ["SklearnFlavor", "SklearnPredictor"]

FILE = "model.skops"


class SklearnPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        self._model = model
        self._names = getattr(model, "feature_names_in_", None)
        classes = getattr(model, "classes_", None)
        self.classes = None if classes is None else np.asarray(classes)

    @property
    def native(self) -> Any:
        return self._model

    def _x(self, frame: pd.DataFrame) -> Any:
        # fitted on a DataFrame: give it one (named columns); fitted on an array: an array
        return frame[list(self._names)] if self._names is not None else frame.to_numpy()

    def predict(self, frame: pd.DataFrame) -> Any:
        return self._model.predict(self._x(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if not hasattr(self._model, "predict_proba"):
            return super().predict_proba(frame)
        return np.asarray(self._model.predict_proba(self._x(frame)))


class SklearnFlavor(Flavor):
    name = "sklearn"
    packages = ("scikit-learn", "skops", "scipy")

    def detect(self, model: Any) -> bool:
        return any(
            c.__module__.split(".")[0] == "sklearn" and c.__name__ == "BaseEstimator"
            for c in type(model).__mro__
        )

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        import skops.io as sio

        target = path / FILE
        sio.dump(model, target)
        trusted = trust.skops_trusted_list(target.read_bytes(), file=FILE, error=ValidationFailed)
        return {
            "file": FILE,
            "trusted_types": trusted,  # informational: loading decides for itself
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
        }

    def check_files(self, options: dict[str, Any], read: Callable[[str], bytes]) -> None:
        name = str(options.get("file", FILE))
        trust.skops_trusted_list(read(name), file=name)

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        import skops.io as sio

        name = str(options.get("file", FILE))
        data = (path / name).read_bytes()  # check and load the very same bytes
        model = sio.loads(data, trusted=trust.skops_trusted_list(data, file=name))
        return SklearnPredictor(model)
