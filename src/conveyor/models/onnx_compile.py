"""Compile a loaded model to ONNX for fast serving, and check the two agree.

::

    compiled = compile_to_onnx(model, sample_df)          # None when no converter applies
    report = parity_check(model, compiled, validation_df)  # report.passed
    blob = compiled.to_bytes()                             # store as an artifact
    fast = CompiledModel.from_bytes(blob)
    fast.predict_array(np.asarray([[0.1, 2.0, 3.5]], dtype=np.float32))

Converters: scikit-learn estimators and pipelines (skl2onnx, classifiers without ZipMap so
probabilities come back as a plain matrix), LightGBM and XGBoost (onnxmltools). Numeric
models get one float32 input tensor named ``input`` with the signature's columns in order;
scikit-learn pipelines that select columns by name (a ColumnTransformer on strings and
numbers) get one ``(n, 1)`` input per column and are fed through :meth:`CompiledModel.predict`.

Parity thresholds (:func:`parity_check`): the compiled model passes when at least
``min_agreement`` (default 0.999) of the rows get the same label (classifiers) or a value
within tolerance (regressors), and the largest difference is at most ``max_abs_diff``
(default 1e-4) — probabilities for classifiers; for regressors the difference is scaled as
``|native - onnx| / max(1, |native|)`` so large targets are compared relatively. ONNX tree
ensembles compute in float32, hence the tolerance.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed
from conveyor.models.flavors.base import classes_from_options, classes_to_options
from conveyor.models.flavors.onnx import session_options
from conveyor.models.loaded import LoadedModel

__all__ = ["CompiledModel", "ParityReport", "compile_to_onnx", "parity_check"]

log = logging.getLogger(__name__)
_META = "conveyor.compiled"
_NUMERIC = frozenset({"double", "float", "long", "integer", "boolean"})


class CompiledModel:
    """An ONNX model in an onnxruntime session tuned for single-row latency.

    Labels come back as the native model's classes (not indices), values as a 1-D array.
    """

    def __init__(
        self,
        onnx_bytes: bytes,
        *,
        columns: list[str],
        classes: np.ndarray | None = None,
        labels_are_indices: bool = False,
        per_column: dict[str, str] | None = None,
        source_flavor: str = "",
    ) -> None:
        import onnx
        import onnxruntime as ort

        proto = onnx.load_model_from_string(onnx_bytes)
        info = {
            "columns": list(columns),
            "labels_are_indices": labels_are_indices,
            "per_column": per_column,
            "source_flavor": source_flavor,
            **(classes_to_options(classes) if classes is not None else {}),
        }
        kept = [(p.key, p.value) for p in proto.metadata_props if p.key != _META]
        del proto.metadata_props[:]
        for key, value in kept:
            proto.metadata_props.add(key=key, value=value)
        entry = proto.metadata_props.add()
        entry.key, entry.value = _META, json.dumps(info, sort_keys=True)
        self._bytes = proto.SerializeToString()
        self.columns = list(columns)
        self.classes = classes
        self.source_flavor = source_flavor
        self.per_column = per_column
        self._labels_are_indices = labels_are_indices
        self.session = ort.InferenceSession(
            self._bytes, sess_options=session_options(), providers=["CPUExecutionProvider"]
        )
        outputs = [o.name for o in self.session.get_outputs()]
        self._input = self.session.get_inputs()[0].name
        self._label = outputs[:1]
        self._proba = outputs[1:2] if classes is not None and len(outputs) > 1 else []
        self._run = self.session.run

    @classmethod
    def from_bytes(cls, data: bytes) -> CompiledModel:
        """Rebuild from :meth:`to_bytes` output (columns and classes travel inside)."""
        import onnx

        proto = onnx.load_model_from_string(data)
        meta = {p.key: p.value for p in proto.metadata_props}
        if _META not in meta:
            raise ValidationFailed("these ONNX bytes were not written by CompiledModel.to_bytes")
        info = json.loads(meta[_META])
        return cls(
            data,
            columns=info["columns"],
            classes=classes_from_options(info),
            labels_are_indices=bool(info.get("labels_are_indices")),
            per_column=info.get("per_column"),
            source_flavor=str(info.get("source_flavor", "")),
        )

    def to_bytes(self) -> bytes:
        """The ONNX model bytes, with columns and classes in its metadata."""
        return self._bytes

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def labels_are_indices(self) -> bool:
        """True when the ONNX label output holds class indices mapped through ``classes``."""
        return self._labels_are_indices

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return out.reshape(-1) if out.ndim == 2 else out
        if self._labels_are_indices:
            return self.classes[out.reshape(-1)]
        return out if out.dtype == self.classes.dtype else out.astype(self.classes.dtype)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Fast path: float32 2-D array, columns in :attr:`columns` order -> labels/values."""
        if self.per_column is not None:
            raise ValidationFailed(
                "this compiled model takes one input per column: use predict(df)"
            )
        return self._labels(self._run(self._label, {self._input: x})[0])

    def predict_proba_array(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for a float32 2-D array (classifiers only)."""
        if not self._proba:
            raise ValidationFailed("this compiled model has no probabilities output")
        if self.per_column is not None:
            raise ValidationFailed(
                "this compiled model takes one input per column: use predict(df)"
            )
        return np.asarray(self._run(self._proba, {self._input: x})[0])

    def _feed(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.per_column is None:
            return {self._input: df[self.columns].to_numpy(dtype=np.float32)}
        dtypes = {"string": object, "long": np.int64}
        return {
            name: df[name].to_numpy(dtype=dtypes.get(kind, np.float32)).reshape(-1, 1)
            for name, kind in self.per_column.items()
        }

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Labels (classifiers) or values for a DataFrame with the signature's columns."""
        return self._labels(self._run(self._label, self._feed(df))[0])

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for a DataFrame (classifiers only)."""
        if not self._proba:
            raise ValidationFailed("this compiled model has no probabilities output")
        return np.asarray(self._run(self._proba, self._feed(df))[0])


def _float_input(n: int) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType

    return [("input", FloatTensorType([None, n]))]


def _mlt_float_input(n: int) -> list[tuple[str, Any]]:
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("input", FloatTensorType([None, n]))]


def _sklearn(
    loaded: LoadedModel, columns: list[str], types: dict[str, str]
) -> tuple[Any, dict[str, str] | None]:
    """The ONNX model and, when it takes one input per column, each column's kind."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    model = loaded.native
    options: dict[Any, Any] = {}
    if loaded.classes is not None:
        steps = getattr(model, "steps", None)
        final = steps[-1][1] if steps else model
        options = {id(final): {"zipmap": False}}
    first: Exception | None = None
    if all(types.get(c, "double") in _NUMERIC for c in columns):
        try:
            initial = _float_input(len(columns))
            return convert_sklearn(model, initial_types=initial, options=options), None
        except Exception as exc:  # e.g. a ColumnTransformer selecting columns by name
            log.debug("single-tensor conversion failed (%s); trying one input per column", exc)
            first = exc
    kinds: dict[str, str] = {}
    for c in columns:
        kind = types.get(c, "double")
        kinds[c] = (
            "string" if kind == "string" else "long" if kind in ("long", "integer") else "float"
        )
    tensor = {"string": StringTensorType, "long": Int64TensorType, "float": FloatTensorType}
    initial = [(c, tensor[k]([None, 1])) for c, k in kinds.items()]
    try:
        return convert_sklearn(model, initial_types=initial, options=options), kinds
    except Exception:
        if first is not None:  # the single-tensor error says more about a numeric model
            raise first from (first.__cause__ or first.__context__)
        raise


def _lightgbm(loaded: LoadedModel, columns: list[str]) -> Any:
    from onnxmltools import convert_lightgbm

    initial = _mlt_float_input(len(columns))
    return convert_lightgbm(loaded.native, initial_types=initial, zipmap=False)


def _xgboost(loaded: LoadedModel, columns: list[str]) -> Any:
    from onnxmltools import convert_xgboost

    native = loaded.native
    booster = (native if hasattr(native, "get_dump") else native.get_booster()).copy()
    booster.feature_names = None  # the converter only understands f0, f1, ... names
    booster.feature_types = None
    return convert_xgboost(booster, initial_types=_mlt_float_input(len(columns)))


def _convert(
    loaded: LoadedModel, columns: list[str], types: dict[str, str]
) -> tuple[Any, dict[str, str] | None]:
    if loaded.flavor == "sklearn":
        return _sklearn(loaded, columns, types)
    if loaded.flavor == "lightgbm":
        return _lightgbm(loaded, columns), None
    return _xgboost(loaded, columns), None


def compile_to_onnx(
    loaded: LoadedModel, sample: pd.DataFrame, *, reasons: list[str] | None = None
) -> CompiledModel | None:
    """Convert ``loaded`` to an ONNX :class:`CompiledModel`, or None when it cannot be.

    ``sample`` (a few rows of real input) is run through the compiled model as a smoke test.
    Why a model was not compiled is logged at INFO on ``conveyor.models.onnx_compile`` and
    appended to ``reasons`` when a list is given.
    """

    def skip(reason: str) -> None:
        log.info("not compiling %s model to ONNX: %s", loaded.flavor, reason)
        if reasons is not None:
            reasons.append(reason)

    signature = loaded.signature
    frame = loaded.prepare(sample)
    columns = signature.input_names if signature else [str(c) for c in frame.columns]
    types = {c.name or str(i): c.type for i, c in enumerate(signature.inputs)} if signature else {}
    if loaded.flavor == "onnx":
        skip("the model is already ONNX")
        return None
    if loaded.flavor not in ("sklearn", "lightgbm", "xgboost"):
        skip(f"no ONNX converter for flavor {loaded.flavor!r}")
        return None
    try:
        with warnings.catch_warnings():
            # converters read deprecated estimator attributes; that noise is not actionable
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            proto, per_column = _convert(loaded, columns, types)
        compiled = CompiledModel(
            proto.SerializeToString(),
            columns=columns,
            classes=loaded.classes,
            labels_are_indices=loaded.flavor != "sklearn",  # boosters label by index
            per_column=per_column,
            source_flavor=loaded.flavor,
        )
        if compiled.classes is None and len(compiled.session.get_outputs()) > 1:
            skip(
                "a raw Booster with a classification objective has no recorded classes; save "
                "the scikit-learn wrapper (LGBMClassifier / XGBClassifier) to compile it"
            )
            return None
        compiled.predict(frame)
    except Exception as exc:  # converters raise anything from RuntimeError to NameError
        reason = f"conversion failed: {type(exc).__name__}: {str(exc)[:300]}"
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is not None:
            reason += f" (caused by {type(cause).__name__}: {str(cause)[:200]})"
        skip(reason)
        return None
    return compiled


@dataclass(frozen=True)
class ParityReport:
    """How closely a compiled model reproduces the native one on validation rows."""

    rows: int
    kind: str  # "classifier" or "regressor"
    agreement: float  # share of rows with the same label / a value within tolerance
    max_abs_diff: float  # largest probability (classifier) or scaled value (regressor) gap
    min_agreement: float
    max_abs_diff_allowed: float
    passed: bool
    failures: list[str] = field(default_factory=list)

    @property
    def label_agreement(self) -> float | None:
        """Label agreement rate for classifiers, None for regressors."""
        return self.agreement if self.kind == "classifier" else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parity_check(
    loaded: LoadedModel,
    compiled: CompiledModel,
    validation_df: pd.DataFrame,
    *,
    min_agreement: float = 0.999,
    max_abs_diff: float = 1e-4,
) -> ParityReport:
    """Compare native and compiled predictions on ``validation_df`` (see module docs)."""
    frame = loaded.prepare(validation_df)
    rows = len(frame)
    if rows == 0:
        raise ValidationFailed("parity_check needs at least one validation row")
    failures: list[str] = []
    if compiled.is_classifier and loaded.classes is not None:
        kind = "classifier"
        native_labels = np.asarray(loaded.predict(frame))
        onnx_labels = compiled.predict(frame)
        agreement = float(np.mean(native_labels == onnx_labels))
        diff = np.abs(loaded.predict_proba(frame) - compiled.predict_proba(frame))
        worst = float(diff.max()) if diff.size else 0.0
    else:
        kind = "regressor"
        native = np.asarray(loaded.predict(frame), dtype=np.float64).reshape(-1)
        fast = np.asarray(compiled.predict(frame), dtype=np.float64).reshape(-1)
        if native.shape != fast.shape:
            raise ValidationFailed(f"native gives {native.shape} values, ONNX {fast.shape}")
        scaled = np.abs(native - fast) / np.maximum(1.0, np.abs(native))
        agreement = float(np.mean(scaled <= max_abs_diff))
        worst = float(scaled.max())
    if not np.isfinite(worst):
        worst = float("inf")
    if agreement < min_agreement:
        failures.append(f"agreement {agreement:.6f} < {min_agreement}")
    if worst > max_abs_diff:
        failures.append(f"max difference {worst:.3g} > {max_abs_diff}")
    return ParityReport(
        rows=rows,
        kind=kind,
        agreement=agreement,
        max_abs_diff=worst,
        min_agreement=min_agreement,
        max_abs_diff_allowed=max_abs_diff,
        passed=not failures,
        failures=failures,
    )
