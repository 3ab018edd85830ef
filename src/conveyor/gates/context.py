"""What checks see: the evaluation rows, and the candidate (and champion) scored on them.

Conveyor scores each version itself on the policy's evaluation dataset version (it never
trusts numbers a run logged): the model is loaded with the verified loader (every file
checked against its manifest sha256, no pickle), predictions and — for classifiers — class
probabilities are computed once and shared by every check. The champion is scored only
when a check asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.errors import ValidationFailed
from conveyor.gates.policy import Policy
from conveyor.registry.entities import ModelVersion

if TYPE_CHECKING:  # pandas loads with the evaluation data, not with the operation table
    import pandas as pd

    from conveyor.data.entities import DatasetVersion

__all__ = ["GateContext", "Scored"]


@dataclass
class Scored:
    """One model version's predictions on the evaluation rows.

    ``y_pred`` are labels (classification) or values (regression); ``proba`` has one column
    per entry of ``classes`` (None when the model gives no probabilities).
    """

    version: ModelVersion
    loaded: Any
    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: list[Any] | None
    positive: Any

    @cached_property
    def is_binary(self) -> bool:
        return self.task == "classification" and self.classes is not None and len(self.classes) == 2

    @cached_property
    def y_bin(self) -> np.ndarray:
        """Labels as 0/1 (1 = the positive class); binary classification only."""
        return _equal(self.y_true, self.positive)

    @cached_property
    def pred_bin(self) -> np.ndarray:
        """Predicted labels as 0/1 (1 = the positive class)."""
        return _equal(self.y_pred, self.positive)

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Point metrics from the shared metric functions (``sklearn.metrics`` definitions)."""
        from conveyor.evaluation import classification_metrics, regression_metrics

        if self.task == "regression":
            out = regression_metrics(self.y_true, self.y_pred)
            out["mse"] = out["rmse"] ** 2
            return out
        out = classification_metrics(
            self.y_true,
            self.y_pred,
            self.proba,
            classes=self.classes,
            positive=self.positive if self.is_binary else None,
        )
        if out.get("accuracy") is not None:
            out["error_rate"] = 1.0 - out["accuracy"]
        return out

    @cached_property
    def score(self) -> np.ndarray | None:
        """The positive class's probability (binary), else None."""
        if self.proba is None or not self.is_binary or self.classes is None:
            return None
        j = [_key(c) for c in self.classes].index(_key(self.positive))
        return np.asarray(self.proba[:, j], dtype=np.float64)


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _equal(values: np.ndarray, target: Any) -> np.ndarray:
    if values.dtype.kind in "biuf" and isinstance(_key(target), int | float | bool):
        return (values == target).astype(np.int8)
    return np.asarray([_key(v) == _key(target) for v in values.tolist()], dtype=np.int8)


class GateContext:
    """The evaluation rows and lazily scored versions, shared by the checks of one run."""

    def __init__(
        self,
        backend: Any,
        version: ModelVersion,
        policy: Policy,
        policy_version: int,
        dataset: DatasetVersion,
        frame: pd.DataFrame,
        label: str,
    ) -> None:
        self.backend = backend
        self.version = version
        self.policy = policy
        self.policy_version = policy_version
        self.dataset = dataset
        self.frame = frame
        self.label = label
        self.champions: dict[str, int] = {}  # alias -> version compared with
        self._scored: dict[int, Scored] = {}
        self.seed = int(version.manifest_sha256[:8], 16)  # reproducible resamples per version

    @property
    def candidate(self) -> Scored:
        """The version under test, scored on the evaluation rows."""
        return self.scored(self.version)

    def champion_for(self, alias: str = "champion") -> Scored | None:
        """The version ``alias`` points at, scored on the same rows (None without one)."""
        from conveyor.errors import NotFound
        from conveyor.registry import service as registry

        with self.backend.meta.read() as conn:
            try:
                mv = registry.resolve_version(conn, self.version.name, alias)
            except NotFound:
                return None
        self.champions[alias] = mv.version
        return self.scored(mv)

    def scored(self, mv: ModelVersion) -> Scored:
        """``mv`` scored once per gate run."""
        if mv.version not in self._scored:
            self._scored[mv.version] = self.score(mv)
        return self._scored[mv.version]

    def load(self, mv: ModelVersion) -> Any:
        from conveyor.deployments.compile import load_version

        return load_version(self.backend, mv)

    def inputs(self, loaded: Any) -> pd.DataFrame:
        """The evaluation rows restricted to the model's signature inputs."""
        names = loaded.signature.input_names if loaded.signature is not None else None
        if not names:
            return self.frame.drop(columns=[self.label])
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            raise ValidationFailed(
                f"evaluation dataset {self.dataset.uri} lacks the model inputs "
                f"{', '.join(missing)} of {self.version.name}/{self.version.version}",
                details={"missing": missing},
            )
        return self.frame[names]

    def score(self, mv: ModelVersion) -> Scored:
        """Load ``mv`` (verified) and predict every evaluation row."""
        loaded = self.load(mv)
        x = self.inputs(loaded)
        y_true = self.frame[self.label].to_numpy()
        raw = loaded.predict(x)
        if hasattr(raw, "columns"):  # a DataFrame: several named outputs
            raise ValidationFailed(
                f"{mv.name}/{mv.version} has several named outputs; gates score single-output "
                "models"
            )
        y_pred = np.asarray(raw)
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred[:, 0]
        classes = loaded.classes
        if classes is None:
            return Scored(mv, loaded, "regression", y_true, y_pred, None, None, None)
        classes_list = [_key(c) for c in np.asarray(classes).tolist()]
        try:
            proba: np.ndarray | None = loaded.predict_proba(x)
        except ValidationFailed:
            proba = None
        positive = self.policy.positive
        if positive is None and len(classes_list) == 2:
            positive = next((c for c in classes_list if c is True or c == 1), classes_list[1])
        if positive is not None and _key(positive) not in classes_list:
            raise ValidationFailed(
                f"positive: {positive!r} is not a class of {mv.name}/{mv.version} "
                f"(classes: {classes_list})"
            )
        return Scored(mv, loaded, "classification", y_true, y_pred, proba, classes_list, positive)
