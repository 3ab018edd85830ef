"""Model signatures: the named, typed columns a model takes and returns.

A :class:`Signature` is two ordered lists of :class:`ColSpec` (``inputs`` and ``outputs``),
in the spirit of MLflow's column-based signature, so ``Signature.to_mlflow()`` gives the
JSON MLflow stores in its ``MLmodel`` file. Column types::

    double  float  long  integer  boolean  string  datetime  binary

Enforcement (``validate_frame``) returns structured field errors instead of raising, so the
serving layer can answer HTTP 422 with them::

    [{"field": "age", "error": "missing"},
     {"field": "x", "error": "expected double, got string"}]

Rules:

- ints are accepted for ``double``/``float`` columns; strings never are for numbers;
- ``long``/``integer`` columns accept floats whose values are all whole numbers (pandas
  turns an int column with a null into float64);
- ``required`` is about presence: a required column must be there; an optional one may be
  absent (it is then passed to the model as all-null);
- nulls: ``double``/``float`` columns accept NaN (a float value models such as LightGBM and
  HistGradientBoosting handle); any other type accepts nulls only when ``required`` is
  false. :func:`infer_signature` marks a column optional when the example has nulls in it,
  as MLflow does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from conveyor.errors import ValidationFailed

__all__ = [
    "TYPES",
    "ColSpec",
    "Signature",
    "coerce_frame",
    "infer_signature",
    "to_frame",
    "validate_frame",
]

#: The column types a signature may use.
TYPES = ("double", "float", "long", "integer", "boolean", "string", "datetime", "binary")

# what each declared type accepts, by the type we observe in the data
_ACCEPTS: dict[str, frozenset[str]] = {
    "double": frozenset({"double", "float", "long", "integer"}),
    "float": frozenset({"double", "float", "long", "integer"}),
    "long": frozenset({"long", "integer"}),
    "integer": frozenset({"long", "integer"}),
    "boolean": frozenset({"boolean"}),
    "string": frozenset({"string"}),
    "datetime": frozenset({"datetime"}),
    "binary": frozenset({"binary"}),
}
_CAST = {"double": np.dtype(np.float64), "float": np.dtype(np.float32)}
_INFERRED = {
    "floating": "double",
    "mixed-integer-float": "double",
    "integer": "long",
    "boolean": "boolean",
    "string": "string",
    "datetime64": "datetime",
    "datetime": "datetime",
    "date": "datetime",
    "bytes": "binary",
}


@dataclass(frozen=True)
class ColSpec:
    """One column: ``name`` (``None`` for an unnamed single output), ``type``, ``required``."""

    type: str
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValidationFailed(
                f"unknown column type {self.type!r} for {self.name!r}; "
                f"use one of {', '.join(TYPES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.name is not None:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColSpec:
        try:
            return cls(
                type=str(data["type"]),
                name=None if data.get("name") is None else str(data["name"]),
                required=bool(data.get("required", True)),
            )
        except KeyError:
            raise ValidationFailed(f"column spec without a type: {dict(data)!r}") from None


@dataclass(frozen=True)
class Signature:
    """Ordered input columns and (optionally) output columns of a model."""

    inputs: tuple[ColSpec, ...]
    outputs: tuple[ColSpec, ...] | None = None

    @property
    def input_names(self) -> list[str]:
        """Input column names in order (unnamed inputs are named by position)."""
        return [c.name if c.name is not None else str(i) for i, c in enumerate(self.inputs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": None if self.outputs is None else [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        if not isinstance(data, Mapping) or not isinstance(data.get("inputs"), list):
            raise ValidationFailed(f"not a signature (needs an 'inputs' list): {data!r}"[:300])
        outputs = data.get("outputs")
        return cls(
            inputs=tuple(ColSpec.from_dict(c) for c in data["inputs"]),
            outputs=None if outputs is None else tuple(ColSpec.from_dict(c) for c in outputs),
        )

    def to_mlflow(self) -> dict[str, str]:
        """The ``signature`` block of an MLflow ``MLmodel`` file (column-based)."""
        out = {"inputs": json.dumps([c.to_dict() for c in self.inputs])}
        if self.outputs is not None:
            out["outputs"] = json.dumps([c.to_dict() for c in self.outputs])
        return out

    @classmethod
    def from_mlflow(cls, data: Mapping[str, str]) -> Signature:
        """Read the column-based signature of an MLflow ``MLmodel`` file."""
        outputs = data.get("outputs")
        return cls.from_dict(
            {
                "inputs": json.loads(data["inputs"]),
                "outputs": json.loads(outputs) if outputs else None,
            }
        )


def _observed_type(series: pd.Series) -> str | None:
    """The signature type of a column's values, ``None`` when every value is null."""
    dtype = series.dtype
    kind = getattr(dtype, "kind", "O")
    if kind == "f":
        return "float" if dtype == np.float32 else "double"
    if kind in "iu":
        wide = dtype.itemsize >= 8 or (kind == "u" and dtype.itemsize >= 4)
        return "long" if wide else "integer"
    if kind == "b":
        return "boolean"
    if kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return _observed_type(pd.Series(np.asarray(dtype.categories)))
    if isinstance(dtype, pd.StringDtype):
        return "string"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "empty":
        return None
    return _INFERRED.get(inferred, inferred)


def _frame(example: Any) -> pd.DataFrame:
    if isinstance(example, pd.DataFrame):
        return example
    if isinstance(example, pd.Series):
        return example.to_frame(name=example.name if example.name is not None else "0")
    if isinstance(example, Mapping):
        return pd.DataFrame({k: np.atleast_1d(v) for k, v in example.items()})
    if isinstance(example, list) and example and isinstance(example[0], Mapping):
        return pd.DataFrame.from_records(example)
    array = np.asarray(example)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValidationFailed(f"cannot infer a signature from a {array.ndim}-D array; pass 2-D")
    return pd.DataFrame(array, columns=[f"f{i}" for i in range(array.shape[1])])


def _specs(frame: pd.DataFrame, *, named: bool = True) -> tuple[ColSpec, ...]:
    specs = []
    for name in frame.columns:
        column = frame[name]
        observed = _observed_type(column)
        if observed not in TYPES:
            raise ValidationFailed(
                f"column {name!r}: cannot map values of kind {observed!r} to a signature type; "
                f"convert it to one of {', '.join(TYPES)} first"
            )
        specs.append(
            ColSpec(
                type=observed,
                name=str(name) if named else None,
                required=not bool(column.isna().any()),
            )
        )
    return tuple(specs)


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    """Infer a signature from example inputs and (optionally) example outputs.

    ``input_example`` may be a DataFrame, a list of dict records, a dict of columns or a
    2-D array (columns named ``f0``, ``f1``, ...). A 1-D ``output_example`` gives a single
    unnamed output column; a DataFrame gives named outputs.
    """
    inputs = _specs(_frame(input_example))
    if output_example is None:
        return Signature(inputs=inputs)
    if isinstance(output_example, pd.DataFrame):
        return Signature(inputs=inputs, outputs=_specs(output_example))
    array = np.asarray(output_example)
    if array.ndim <= 1:
        frame = pd.DataFrame({"0": array.reshape(-1)})
        return Signature(inputs=inputs, outputs=_specs(frame, named=False))
    return Signature(inputs=inputs, outputs=_specs(_frame(array)))


def to_frame(data: Any, columns: Sequence[str] | None) -> pd.DataFrame:
    """A DataFrame from a DataFrame, dict records, a dict of columns or a 2-D array.

    A 2-D array is read in ``columns`` order (the signature's input order).
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, list) and (not data or isinstance(data[0], Mapping)):
        return pd.DataFrame.from_records(data, columns=None if data else columns)
    if isinstance(data, Mapping):
        return pd.DataFrame({k: np.atleast_1d(v) for k, v in data.items()})
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValidationFailed(f"expected 2-D input (rows x columns), got a {array.ndim}-D array")
    if columns is None:
        columns = [f"f{i}" for i in range(array.shape[1])]
    if array.shape[1] != len(columns):
        raise ValidationFailed(
            f"expected {len(columns)} columns ({', '.join(columns)}), got {array.shape[1]}",
            details={"errors": [{"field": "*", "error": f"expected {len(columns)} columns"}]},
        )
    return pd.DataFrame(array, columns=list(columns))


def _type_error(spec: ColSpec, column: pd.Series) -> str | None:
    observed = _observed_type(column)
    if observed is None:  # every value null
        return None if not spec.required else "null values in a required column"
    if observed not in _ACCEPTS[spec.type]:
        whole = (
            observed in ("double", "float")
            and spec.type in ("long", "integer")
            and bool(np.all(np.mod(column.dropna().to_numpy(dtype=float), 1) == 0))
        )
        if not whole:
            return f"expected {spec.type}, got {observed}"
    if spec.required and spec.type not in ("double", "float") and bool(column.isna().any()):
        return "null values in a required column"
    return None


def validate_frame(frame: pd.DataFrame, inputs: Iterable[ColSpec]) -> list[dict[str, str]]:
    """Field errors of ``frame`` against input specs: missing, unexpected, wrong type."""
    specs = list(inputs)
    errors: list[dict[str, str]] = []
    known = set()
    for i, spec in enumerate(specs):
        name = spec.name if spec.name is not None else str(i)
        known.add(name)
        if name not in frame.columns:
            if spec.required:
                errors.append({"field": name, "error": "missing"})
            continue
        problem = _type_error(spec, frame[name])
        if problem:
            errors.append({"field": name, "error": problem})
    for name in frame.columns:
        if str(name) not in known:
            errors.append({"field": str(name), "error": "unexpected (not in the signature)"})
    return errors


def coerce_frame(frame: pd.DataFrame, inputs: Sequence[ColSpec]) -> pd.DataFrame:
    """Columns in signature order, absent optional columns as nulls, numbers cast to spec."""
    names = [spec.name if spec.name is not None else str(i) for i, spec in enumerate(inputs)]
    if list(frame.columns) == names and all(
        _CAST.get(spec.type, dtype) == dtype
        and not (spec.type in ("long", "integer") and dtype.kind == "f")
        for spec, dtype in zip(inputs, frame.dtypes, strict=True)
    ):
        return frame  # already in order and type: the common serving case
    out: dict[str, Any] = {}
    for i, spec in enumerate(inputs):
        name = spec.name if spec.name is not None else str(i)
        column = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
        if spec.type == "double" and column.dtype != np.float64:
            column = column.astype(np.float64)
        elif spec.type == "float" and column.dtype != np.float32:
            column = column.astype(np.float32)
        elif (
            spec.type in ("long", "integer")
            and column.dtype.kind == "f"
            and not column.isna().any()
        ):
            column = column.astype(np.int64 if spec.type == "long" else np.int32)
        out[name] = column.to_numpy() if isinstance(column, pd.Series) else column
    return pd.DataFrame(out, index=frame.index)
