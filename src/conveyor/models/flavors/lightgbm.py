"""LightGBM flavor: the native text model file (``Booster.save_model``), never pickle.

Both the scikit-learn wrappers (``LGBMClassifier``, ``LGBMRegressor``) and a raw ``Booster``
are supported. For a wrapper the manifest records which one and, for a classifier, its
``classes_``, so the loaded model answers like the wrapper: ``predict_proba`` from the
booster's probabilities and ``predict`` as the class with the highest probability.
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

__all__ = ["LightGBMFlavor", "LightGBMPredictor"]

FILE = "model.lgb.txt"


class LightGBMPredictor(Predictor):
    def __init__(self, booster: Any, kind: str, classes: np.ndarray | None) -> None:
        self.booster = booster
        self.kind = kind
        self.classes = classes if kind == "LGBMClassifier" else None

    @property
    def native(self) -> Any:
        return self.booster

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        data: Any = frame
        if all(dtype.kind in "biuf" for dtype in frame.dtypes):
            data = frame.to_numpy(dtype=np.float64)
        return np.asarray(self.booster.predict(data))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is None:
            return super().predict_proba(frame)
        raw = self._raw(frame)
        return raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])

    def predict(self, frame: pd.DataFrame) -> Any:
        if self.classes is None:
            return self._raw(frame)
        return self.classes[np.argmax(self.predict_proba(frame), axis=1)]


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    packages = ("lightgbm",)

    def detect(self, model: Any) -> bool:
        return type(model).__module__.split(".")[0] == "lightgbm" and hasattr(
            model, "booster_" if hasattr(model, "get_params") else "save_model"
        )

    def save(self, model: Any, path: Path) -> dict[str, Any]:
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            booster, kind = model, "Booster"
        else:
            booster, kind = model.booster_, type(model).__name__
        booster.save_model(str(path / FILE))
        options: dict[str, Any] = {"file": FILE, "model_class": kind}
        if isinstance(model, lightgbm.LGBMClassifier):
            options.update(classes_to_options(model.classes_))
        return options

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        import lightgbm

        booster = lightgbm.Booster(model_file=str(path / str(options.get("file", FILE))))
        kind = str(options.get("model_class", "Booster"))
        return LightGBMPredictor(booster, kind, classes_from_options(options))
