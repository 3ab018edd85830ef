"""The serving seam: a ``Predictor`` turns validated rows into predictions.

The runtime never looks inside a model. It needs the ordered, typed input columns, a
fast ``predict_matrix`` over a 2-D array in that column order, and per-field validation.
Two adapters ship here::

    OnnxPredictor.from_bytes(onnx_bytes, name="churn", version="3", columns=[...])
    FunctionPredictor(lambda df: model.predict(df), name="churn", version="3", columns=[...])

``Signature`` holds the columns and does the checking and the conversion of JSON rows
into a matrix once, for every predictor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import hypot
from typing import Any, Protocol, runtime_checkable

import numpy as np

from conveyor.errors import ValidationFailed

__all__ = [
    "Column",
    "FieldError",
    "FunctionPredictor",
    "OnnxPredictor",
    "Predictor",
    "Signature",
]

FieldError = dict[str, Any]
"""``{"field": <column>, "error": <what is wrong>, "row": <index>}``."""

# kind -> accepted aliases (MLflow / numpy / ONNX spellings)
_KINDS = {
    "float": ("float", "float32", "float64", "double", "number", "fp32", "fp64"),
    "int": ("int", "int32", "int64", "integer", "long", "int8", "int16"),
    "bool": ("bool", "boolean"),
    "str": ("str", "string", "bytes", "object"),
}
_ALIAS = {alias: kind for kind, aliases in _KINDS.items() for alias in aliases}
_TYPE_NAME = {"float": "a number", "int": "an integer", "bool": "a boolean", "str": "a string"}


@dataclass(frozen=True)
class Column:
    """One input column: its name and type (``double``, ``float``, ``long``, ``string`` ...).

    JSON ``null`` follows the model signature's rule: a number column (``double``,
    ``float``) takes it as missing (NaN), any column does when not ``required``.
    """

    name: str
    type: str = "double"
    required: bool = True

    @property
    def nullable(self) -> bool:
        return not self.required or self.kind == "float"

    @property
    def kind(self) -> str:
        kind = _ALIAS.get(self.type.lower())
        if kind is None:
            raise ValidationFailed(
                f"unknown column type {self.type!r} for {self.name!r}",
                details={"known": sorted(_ALIAS)},
            )
        return kind


_INT64_MIN, _INT64_END = -(2**63), 2**63


def _type_error(kind: str, value: Any, name: str = "") -> str:
    """Why ``value`` is not accepted for a column of ``kind``."""
    t = type(value)
    if value is None:
        what = _TYPE_NAME[kind].split(" ", 1)[1]
        return f"null is not allowed for column {name!r} (a required {what} column)"
    if kind == "int" and (t is int or (t is float and value.is_integer())):
        return f"{value!r} is outside the int64 range"
    return f"expected {_TYPE_NAME[kind]}, got {t.__name__}"


def _accepts(kind: str, value: Any) -> bool:
    t = type(value)
    if kind == "float":
        return t is float or t is int
    if kind == "int":  # a whole float is an integer too (clients that write 41.0)
        if t is float:
            return value.is_integer() and _INT64_MIN <= value < _INT64_END
        return t is int and _INT64_MIN <= value < _INT64_END
    if kind == "bool":
        return t is bool
    return t is str


class Signature:
    """Ordered typed columns; validates JSON rows and builds the input matrix."""

    __slots__ = (
        "_checks",
        "_hi",
        "_narrow",
        "_nullable",
        "all_float",
        "columns",
        "dtype",
        "kinds",
        "names",
        "numeric",
    )

    def __init__(self, columns: Sequence[Column], dtype: Any = None) -> None:
        self.columns = tuple(columns)
        self.names = tuple(c.name for c in self.columns)
        self.kinds = tuple(c.kind for c in self.columns)
        self.numeric = all(k in ("float", "int") for k in self.kinds)
        self.all_float = all(k == "float" for k in self.kinds)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        if self.dtype is None:
            self.dtype = np.dtype(np.float64) if self.numeric else np.dtype(object)
        self._checks = tuple(zip(self.names, self.kinds, strict=True))
        # null -> NaN needs a float matrix; an object matrix keeps None
        self._nullable = tuple(c.nullable and self.dtype.kind in "fO" for c in self.columns)
        # float32/float16 matrices: a number beyond their largest finite value would become
        # inf in the cast; _hi is that value (else inf: every number fits)
        self._narrow = self.dtype.kind == "f" and self.dtype.itemsize < 8
        self._hi = float(np.finfo(self.dtype).max) if self._narrow else float("inf")

    def __len__(self) -> int:
        return len(self.columns)

    def describe(self) -> list[dict[str, str]]:
        return [{"name": c.name, "type": c.type} for c in self.columns]

    # -- validation ------------------------------------------------------------------------
    def record_errors(self, record: Any, row: int) -> list[FieldError]:
        if not isinstance(record, Mapping):
            return [{"field": "*", "error": "row must be a JSON object", "row": row}]
        errors: list[FieldError] = []
        for (name, kind), nullable in zip(self._checks, self._nullable, strict=True):
            if name not in record:
                errors.append({"field": name, "error": "missing", "row": row})
            elif not self._ok(kind, nullable, record[name]):
                error = _type_error(kind, record[name], name)
                errors.append({"field": name, "error": error, "row": row})
        if len(record) > len(self.names) - sum(1 for e in errors if e["error"] == "missing"):
            known = set(self.names)
            for key in record:
                if key not in known:
                    errors.append({"field": str(key), "error": "unexpected field", "row": row})
        return errors

    def row_errors(self, values: Any, row: int) -> list[FieldError]:
        if not isinstance(values, list):
            return [{"field": "*", "error": "row must be a JSON array", "row": row}]
        if len(values) != len(self.names):
            return [
                {
                    "field": "*",
                    "error": f"expected {len(self.names)} values, got {len(values)}",
                    "row": row,
                }
            ]
        return [
            {"field": name, "error": _type_error(kind, v, name), "row": row}
            for (name, kind), nullable, v in zip(self._checks, self._nullable, values, strict=True)
            if not self._ok(kind, nullable, v)
        ]

    @staticmethod
    def _ok(kind: str, nullable: bool, value: Any) -> bool:
        return _accepts(kind, value) or (value is None and nullable)

    def validate(self, records: Sequence[Any]) -> list[FieldError]:
        errors: list[FieldError] = []
        for i, rec in enumerate(records):
            errors.extend(self.record_errors(rec, i))
        return errors

    # -- conversion ------------------------------------------------------------------------
    def records_to_matrix(self, records: Sequence[Any]) -> np.ndarray:
        """Rows as dicts -> matrix in column order; raises ValidationFailed listing fields."""
        names = self.names
        n = len(names)
        try:
            rows = []
            for rec in records:
                if len(rec) != n:
                    raise KeyError
                rows.append([rec[k] for k in names])
        except (KeyError, TypeError):
            raise self._failed(self.validate(records)) from None
        return self.rows_to_matrix(rows, checked_width=True)

    def rows_to_matrix(self, rows: Sequence[Any], *, checked_width: bool = False) -> np.ndarray:
        """Rows as lists in column order -> matrix; raises ValidationFailed listing fields."""
        if not rows:
            raise ValidationFailed("no rows to predict", details={"errors": []})
        if self.all_float:
            ok = True
            n = len(self.names)
            for r in rows:
                if type(r) is not list or (not checked_width and len(r) != n):
                    ok = False
                    break
                for v in r:
                    t = type(v)
                    if t is not float and t is not int:
                        ok = False
                        break
                if not ok:
                    break
            if ok and self._narrow:
                # hypot(*row) >= the row's largest |value|: under the dtype's limit, every
                # value fits (one C call per row); above it, the exact check below decides
                hi = self._hi
                for r in rows:
                    if hypot(*r) > hi:
                        ok = False
                        break
            if ok:  # numbers only, none beyond a narrow dtype's range: the cast cannot overflow
                return np.array(rows, dtype=self.dtype)
        errors: list[FieldError] = []
        for i, r in enumerate(rows):
            errors.extend(self.row_errors(r, i))
        if errors:
            raise self._failed(errors)
        if not self._narrow:
            return np.array(rows, dtype=self.dtype)
        with np.errstate(over="ignore"):
            matrix = np.array(rows, dtype=self.dtype)
        return self._fits(matrix, rows)

    def cast(self, values: np.ndarray) -> np.ndarray:
        """A numeric ``[n, k]`` array (binary v2 input) -> matrix in this signature's dtype."""
        if values.dtype == self.dtype or not self._narrow:
            return values.astype(self.dtype, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            matrix = values.astype(self.dtype)
        return self._fits(matrix, values)

    def _fits(self, matrix: np.ndarray, source: Any) -> np.ndarray:
        """``matrix`` unless a finite input value overflowed the narrower dtype to inf."""
        if np.isfinite(matrix).all():
            return matrix
        wide = np.asarray(source, dtype=np.float64)
        bad = ~np.isfinite(matrix) & np.isfinite(wide)
        if not bad.any():
            return matrix  # inf or nan in the input itself (binary data): kept as sent
        top = self._hi
        errors: list[FieldError] = [
            {
                "field": self.names[int(j)],
                "error": f"{float(wide[i, j])!r} is outside the {matrix.dtype.name} range "
                f"of this model (|x| <= {top:g})",
                "row": int(i),
            }
            for i, j in np.argwhere(bad)[:100]
        ]
        raise self._failed(errors)

    def columns_to_matrix(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Column-oriented ``{name: [values]}`` -> matrix."""
        errors: list[FieldError] = []
        lengths = set()
        for name in self.names:
            col = columns.get(name)
            if col is None:
                errors.append({"field": name, "error": "missing"})
            elif not isinstance(col, list):
                errors.append({"field": name, "error": "expected a list of values"})
            else:
                lengths.add(len(col))
        errors.extend(
            {"field": str(k), "error": "unexpected field"} for k in columns if k not in self.names
        )
        if errors:
            raise self._failed(errors)
        if len(lengths) != 1:
            raise self._failed([{"field": "*", "error": "columns have different lengths"}])
        rows = [list(r) for r in zip(*(columns[n] for n in self.names), strict=True)]
        return self.rows_to_matrix(rows, checked_width=True)

    @staticmethod
    def _failed(errors: list[FieldError]) -> ValidationFailed:
        shown = errors[:100]
        summary = ", ".join(f"{e['field']}: {e['error']}" for e in shown[:5])
        return ValidationFailed(
            f"input does not match the model signature ({summary})",
            details={"errors": shown, "error_count": len(errors)},
        )


@runtime_checkable
class Predictor(Protocol):
    """What the serving runtime needs from a model.

    ``predict_matrix`` takes a 2-D array whose columns follow ``input_columns`` and whose
    dtype is ``matrix_dtype``; it returns one output per row (first axis).

    A predictor may also offer ``predict_scored(matrix) -> (outputs, proba)``: the same
    outputs plus the class probabilities (2-D, one column per class in the model's class
    order) or None; the runtime then logs the probabilities next to the labels, which
    monitoring needs for ROC AUC, log loss and calibration.
    """

    name: str
    version: str

    @property
    def input_columns(self) -> Sequence[Column]: ...

    @property
    def matrix_dtype(self) -> Any: ...

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray: ...

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> list[Any]: ...

    def validate(self, records: Sequence[Any]) -> list[FieldError]: ...


class _Base:
    name: str
    version: str
    signature: Signature

    @property
    def input_columns(self) -> tuple[Column, ...]:
        return self.signature.columns

    @property
    def matrix_dtype(self) -> Any:
        return self.signature.dtype

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_scored(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Outputs and class probabilities (None when the model has none)."""
        return self.predict_matrix(matrix), None

    @property
    def scores(self) -> bool:
        """True when :meth:`predict_scored` gives class probabilities."""
        return False

    classes: np.ndarray | None = None
    """The class of each probability column, when known."""

    def validate(self, records: Sequence[Any]) -> list[FieldError]:
        return self.signature.validate(records)

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        result: list[Any] = self.predict_matrix(self.signature.records_to_matrix(records)).tolist()
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, version={self.version!r})"


def one_per_row(out: np.ndarray) -> np.ndarray:
    """A single-output model's ``(n, 1)`` result as ``(n,)``: one scalar per row, as the
    model's own ``predict`` gives it (regressors converted to ONNX answer ``[n, 1]``)."""
    if out.ndim == 2 and out.shape[1] == 1:
        return out.reshape(-1)
    return out


def _columns(
    columns: Iterable[Column | str | tuple[str, str] | tuple[str, str, bool]],
) -> list[Column]:
    out = []
    for c in columns:
        if isinstance(c, Column):
            out.append(c)
        elif isinstance(c, str):
            out.append(Column(c))
        else:
            out.append(Column(*c))
    return out


class OnnxPredictor(_Base):
    """An ONNX model with one 2-D tensor input, run by onnxruntime.

    ``output`` picks the session output returned per row (default: the first, e.g. the
    label of a skl2onnx classifier converted with ``zipmap=False``). ``proba_output`` names
    the class-probabilities output (default ``"auto"``: the second output when it is a 2-D
    float tensor, as skl2onnx and onnxmltools write classifiers with ``zipmap=False``);
    both come from one ``session.run``. With ``labels_are_indices`` the label output holds
    class indices, mapped through ``classes`` (boosters converted by onnxmltools).
    """

    def __init__(
        self,
        session: Any,
        *,
        name: str,
        version: str,
        columns: Iterable[Column | str | tuple[str, str] | tuple[str, str, bool]],
        output: str | int = 0,
        proba_output: str | None = "auto",
        classes: np.ndarray | None = None,
        labels_are_indices: bool = False,
    ) -> None:
        self.session = session
        self.name = name
        self.version = str(version)
        inp = session.get_inputs()
        if len(inp) != 1:
            raise ValidationFailed(
                "OnnxPredictor needs a model with exactly one tensor input",
                details={"inputs": [i.name for i in inp]},
            )
        self._input = inp[0].name
        dtype: Any = np.float64 if "double" in inp[0].type else np.float32
        if "int64" in inp[0].type:
            dtype = np.int64
        self.signature = Signature(_columns(columns), dtype=dtype)
        metas = session.get_outputs()
        outs = [o.name for o in metas]
        self._output = outs[output] if isinstance(output, int) else output
        if self._output not in outs:
            raise ValidationFailed(
                f"ONNX model has no output {output!r}", details={"outputs": outs}
            )
        if proba_output == "auto":
            proba_output = next(
                (
                    o.name
                    for o in metas[1:2]
                    if o.name != self._output and "float" in o.type and len(o.shape or ()) == 2
                ),
                None,
            )
        if proba_output is not None and proba_output not in outs:
            raise ValidationFailed(
                f"ONNX model has no output {proba_output!r}", details={"outputs": outs}
            )
        if labels_are_indices and classes is None:
            raise ValidationFailed("labels_are_indices needs the classes to map indices to")
        self.classes = classes
        self._indices = labels_are_indices
        self._outputs = [self._output]
        self._scored = [self._output, proba_output] if proba_output else None
        # the binding's own run skips per-call Python checks that hold for our one input
        sess = getattr(session, "_sess", None)
        self._run = sess.run if sess is not None and hasattr(sess, "run") else session.run

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        name: str,
        version: str,
        columns: Iterable[Column | str | tuple[str, str] | tuple[str, str, bool]],
        output: str | int = 0,
        threads: int = 1,
        **options: Any,
    ) -> OnnxPredictor:
        """Build from serialized ONNX; ``threads`` bounds onnxruntime's intra-op pool;
        ``options`` are the constructor's (``proba_output``, ``classes`` ...)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        return cls(sess, name=name, version=version, columns=columns, output=output, **options)

    @property
    def scores(self) -> bool:
        return self._scored is not None

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if self._indices:
            assert self.classes is not None
            return self.classes[out.reshape(-1)]
        return one_per_row(out)

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return self._labels(self._run(self._outputs, {self._input: matrix}, None)[0])

    def predict_scored(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self._scored is None:
            return self.predict_matrix(matrix), None
        labels, proba = self._run(self._scored, {self._input: matrix}, None)
        return self._labels(labels), proba


class FunctionPredictor(_Base):
    """Any Python callable on a pandas DataFrame (native fallbacks, tests).

    ``proba_fn`` (optional) returns the class probabilities of the same frame, in the
    model's class order (e.g. a scikit-learn ``predict_proba``); ``classes`` names them.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        name: str,
        version: str,
        columns: Iterable[Column | str | tuple[str, str] | tuple[str, str, bool]],
        proba_fn: Callable[[Any], Any] | None = None,
        classes: Sequence[Any] | None = None,
    ) -> None:
        self.fn = fn
        self.proba_fn = proba_fn
        self.classes = None if classes is None else np.asarray(classes)
        self.name = name
        self.version = str(version)
        self.signature = Signature(_columns(columns))

    @property
    def scores(self) -> bool:
        return self.proba_fn is not None

    def _frame(self, matrix: np.ndarray) -> Any:
        import pandas as pd

        return pd.DataFrame(matrix, columns=list(self.signature.names))

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return one_per_row(np.asarray(self.fn(self._frame(matrix))))

    def predict_scored(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.proba_fn is None:
            return self.predict_matrix(matrix), None
        frame = self._frame(matrix)
        outputs = one_per_row(np.asarray(self.fn(frame)))
        return outputs, np.asarray(self.proba_fn(frame), dtype=np.float64)
