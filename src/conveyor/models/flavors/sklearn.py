"""scikit-learn flavor: skops files with the trusted types recorded at save time.

Saving writes ``model.skops`` with ``skops.io.dump`` and records in the manifest the types
that skops does not trust by default (``skops.io.get_untrusted_types``) — they come from the
estimator the user handed us, so we trust them for this file. Loading checks the file again
and refuses when it now names a type that was not recorded, then calls
``skops.io.load(file, trusted=<recorded list>)``. No pickle is involved at any point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import IntegrityError, ValidationFailed
from conveyor.models.flavors.base import Flavor, Predictor

__all__ = ["DANGEROUS_PREFIXES", "SklearnFlavor", "SklearnPredictor"]

FILE = "model.skops"
#: types never trusted, whatever a manifest records (code execution, file and process access)
DANGEROUS_PREFIXES = (
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.open",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.__import__",
    "os.",
    "posix.",
    "nt.",
    "subprocess.",
    "sys.",
    "shutil.",
    "importlib.",
    "pickle.",
    "marshal.",
    "socket.",
    "runpy.",
    "code.",
)


def _dangerous(types: list[str]) -> list[str]:
    return [t for t in types if t.startswith(DANGEROUS_PREFIXES)]


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
        trusted = sorted(sio.get_untrusted_types(file=target))
        bad = _dangerous(trusted)
        if bad:
            raise ValidationFailed(
                f"refusing to save: the model contains types that can run code or touch the "
                f"system ({', '.join(bad)}); remove them from the estimator",
                details={"types": bad},
            )
        options: dict[str, Any] = {
            "file": FILE,
            "trusted_types": trusted,
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
        }
        return options

    def load(self, path: Path, options: dict[str, Any], *, allow_pickle: bool) -> Predictor:
        import skops
        import skops.io as sio

        target = path / str(options.get("file", FILE))
        recorded = [str(t) for t in options.get("trusted_types", [])]
        bad = _dangerous(recorded)
        if bad:
            raise IntegrityError(
                f"the manifest trusts types that can run code ({', '.join(bad)}); refusing to "
                "load. The manifest was tampered with or written by something other than Conveyor.",
                details={"file": target.name, "types": bad},
            )
        found = sio.get_untrusted_types(file=target)
        unrecorded = sorted(set(found) - set(recorded))
        if unrecorded:
            raise IntegrityError(
                f"{target.name} contains types that were not recorded as trusted when the model "
                f"was saved: {', '.join(unrecorded)}. Either the file or the manifest was altered, "
                f"or this skops ({skops.__version__}) trusts fewer types by default than the one "
                "that saved it. Inspect the file with skops.io.get_untrusted_types and save the "
                "model again if you trust it.",
                details={"file": target.name, "unrecorded_types": unrecorded},
            )
        model = sio.load(target, trusted=recorded)
        return SklearnPredictor(model)
