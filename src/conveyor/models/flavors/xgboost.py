"""XGBoost flavor: the native UBJSON model file (``save_model``), never pickle.

``XGBClassifier``, ``XGBRegressor`` and raw ``Booster`` are supported; the manifest records
which class saved the file, and loading rebuilds the same class with ``load_model`` so
``predict`` and ``predict_proba`` behave as they did before saving. A classifier's
``classes_`` are recorded too and mapped back onto the predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.models.flavors.base import (
    Flavor,
    Predictor,
    classes_from_options,
    classes_to_options,
)

__all__ = ["XGBoostFlavor", "XGBoostPredictor"]

FILE = "model.ubj"
_WRAPPERS = ("XGBClassifier", "XGBRegressor")


class XGBoostPredictor(Predictor):
    def __init__(self, model: Any, kind: str, classes: np.ndarray | None) -> None:
        self._model = model
        self.kind = kind
        self.classes = classes if kind == "XGBClassifier" else None
        booster = model if kind == "Booster" else model.get_booster()
        self.feature_names: list[str] | None = booster.feature_names

    @property
    def native(self) -> Any:
        return self._model

    def _x(self, frame: pd.DataFrame) -> Any:
        if self.feature_names is None:
            return frame.to_numpy()
        return frame[self.feature_names]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is None:
            return super().predict_proba(frame)
        return np.asarray(self._model.predict_proba(self._x(frame)))

    def predict(self, frame: pd.DataFrame) -> Any:
        if self.kind == "Booster":
            import xgboost

            return self._model.predict(xgboost.DMatrix(self._x(frame)))
        if self.classes is not None:
            return self.classes[np.argmax(self.predict_proba(frame), axis=1)]
        return self._model.predict(self._x(frame))


class XGBoostFlavor(Flavor):
    name = "xgboost"
    packages = ("xgboost",)

    def detect(self, model: Any) -> bool:
        return type(model).__module__.split(".")[0] == "xgboost" and hasattr(model, "save_model")

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        import xgboost

        kind = "Booster" if isinstance(model, xgboost.Booster) else type(model).__name__
        if kind not in ("Booster", *_WRAPPERS):
            kind = "XGBClassifier" if isinstance(model, xgboost.XGBClassifier) else "XGBRegressor"
        model.save_model(str(path / FILE))
        options: dict[str, Any] = {"file": FILE, "model_class": kind}
        if kind == "XGBClassifier":
            options.update(classes_to_options(model.classes_))
        return options

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        import xgboost

        target = str(path / str(options.get("file", FILE)))
        kind = str(options.get("model_class", "Booster"))
        model: Any
        if kind == "Booster":
            model = xgboost.Booster(model_file=target)
        else:
            model = xgboost.XGBClassifier() if kind == "XGBClassifier" else xgboost.XGBRegressor()
            model.load_model(target)
        return XGBoostPredictor(model, kind, classes_from_options(options))
