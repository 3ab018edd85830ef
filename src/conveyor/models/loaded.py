"""``LoadedModel``: a verified model behind one prediction interface across flavors.

Built by :func:`conveyor.models.load_model`. Inputs are checked against the signature
(``validate_input`` gives structured field errors, ``predict`` raises ValidationFailed with
them), put in signature column order and cast, then handed to the flavor's predictor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed
from conveyor.models.flavors.base import Predictor
from conveyor.models.manifest import ModelManifest
from conveyor.models.signature import Signature, coerce_frame, to_frame, validate_frame

__all__ = ["INPUT_EXAMPLE_FILE", "LoadedModel", "read_example", "write_example"]

#: File name of the stored input example inside a model directory.
INPUT_EXAMPLE_FILE = "input_example.json"


class LoadedModel:
    """A verified, loaded model with one prediction interface across flavors."""

    def __init__(self, manifest: ModelManifest, predictor: Predictor, path: Path) -> None:
        self.manifest = manifest
        self.path = path
        self._predictor = predictor
        self.signature: Signature | None = (
            None if manifest.signature is None else Signature.from_dict(manifest.signature)
        )
        self._columns = None if self.signature is None else self.signature.input_names

    @property
    def flavor(self) -> str:
        return self.manifest.flavor

    @property
    def native(self) -> Any:
        """The underlying model object (estimator, Booster, InferenceSession, PythonModel)."""
        return self._predictor.native

    @property
    def classes(self) -> np.ndarray | None:
        """Class labels of a classifier (the order of ``predict_proba`` columns), else None."""
        return self._predictor.classes

    @property
    def input_example(self) -> pd.DataFrame | None:
        """The input example stored with the model, if any."""
        if self.manifest.input_example is None:
            return None
        frame = read_example(self.path / self.manifest.input_example)
        for spec in self.signature.inputs if self.signature else ():
            if spec.type == "datetime" and spec.name in frame.columns:
                frame[spec.name] = pd.to_datetime(frame[spec.name])  # JSON holds ISO text
        return frame

    def validate_input(self, data: Any) -> list[dict[str, str]]:
        """Field errors of ``data`` against the signature (empty list: acceptable).

        Each error is ``{"field": <column>, "error": <what is wrong>}``: ``missing``,
        ``unexpected (not in the signature)``, ``expected double, got string``, ``null values
        in a required column``. Without a signature every input is acceptable.
        """
        if self.signature is None:
            return []
        return validate_frame(to_frame(data, self._columns), self.signature.inputs)

    def prepare(self, data: Any) -> pd.DataFrame:
        """``data`` as a DataFrame in signature order and types; ValidationFailed if not."""
        frame = to_frame(data, self._columns)
        if self.signature is None:
            return frame
        errors = validate_frame(frame, self.signature.inputs)
        if errors:
            summary = "; ".join(f"{e['field']}: {e['error']}" for e in errors[:5])
            raise ValidationFailed(
                f"input does not match the model signature ({summary})",
                details={"errors": errors},
            )
        return coerce_frame(frame, self.signature.inputs)

    def predict(self, data: Any) -> np.ndarray | pd.DataFrame:
        """Predictions for a DataFrame, a list of dict records or a 2-D array.

        Returns a numpy array, or a DataFrame when the model has several named outputs.
        """
        result = self._predictor.predict(self.prepare(data))
        if isinstance(result, pd.DataFrame):
            return result
        array = np.asarray(result)
        outputs = self.signature.outputs if self.signature else None
        if (
            array.ndim == 2
            and outputs
            and len(outputs) == array.shape[1] > 1
            and all(o.name for o in outputs)
        ):
            return pd.DataFrame(array, columns=[o.name for o in outputs])
        return array

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes`.

        ValidationFailed when the model is not a classifier with probabilities.
        """
        return np.asarray(self._predictor.predict_proba(self.prepare(data)))

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor!r}, path={str(self.path)!r})"


def write_example(frame: pd.DataFrame, target: Path) -> None:
    text = frame.to_json(orient="split", index=False, date_format="iso", date_unit="ms")
    target.write_text(text + "\n", encoding="utf-8")


def read_example(target: Path) -> pd.DataFrame:
    data = json.loads(target.read_text(encoding="utf-8"))
    return pd.DataFrame(data["data"], columns=data["columns"])
