"""Request bodies -> input matrix, predictions -> response bodies.

Accepted on ``POST /invocations`` (MLflow scoring protocol plus a plain form)::

    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    {"dataframe_records": [{"col": v, ...}, ...]}
    {"instances": [{...}, ...]}   or   [[...], ...]   or   {"col": [...], ...}
    {"inputs": ...}               same shapes as "instances"
    {"records": [{...}, ...]}     or a single object {"records": {...}}

or a ``text/csv`` body: a header row naming the columns, then one line per row, as
``mlflow models serve`` reads it. The v2 protocol is in ``conveyor.serving.v2``.

Every parser returns a 2-D numpy matrix in the signature's column order or raises
``ValidationFailed`` listing each field error.

Class probabilities are returned when asked for (classifiers only; unknown params or
output names are a 422 naming them):
``{"params": {"probabilities": true}, ...}`` on ``/invocations`` adds ``"probabilities"``
(one list per row) and ``"classes"`` (their order, when known).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from conveyor.errors import MalformedRequest, ValidationFailed
from conveyor.serving.predictor import FieldError, Signature
from conveyor.serving.v2 import V2_DATATYPES, parse_v2, render_v2, v2_datatype

__all__ = [
    "MLFLOW_KEYS",
    "V2_DATATYPES",
    "loads",
    "parse_csv",
    "parse_invocations",
    "parse_v2",
    "render_invocations",
    "render_v2",
    "v2_datatype",
    "wants_probabilities",
]

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs", "records")
_NUMPY_OPT = orjson.OPT_SERIALIZE_NUMPY


def loads(body: bytes) -> Any:
    """Parse JSON or raise ``MalformedRequest`` (400)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest(
            f"request body is not valid JSON: {exc}", details={"position": exc.pos}
        ) from None


def _tabular(value: Any, sig: Signature, where: str) -> np.ndarray:
    """A list of records, a list of rows or a dict of columns."""
    if isinstance(value, Mapping):
        if all(isinstance(v, list) for v in value.values()) and value:
            return sig.columns_to_matrix(value)
        return sig.records_to_matrix([value])
    if not isinstance(value, list) or not value:
        raise ValidationFailed(
            f"{where!r} must be a non-empty list of rows or an object of columns",
            details={"errors": [{"field": where, "error": "expected a non-empty list"}]},
        )
    first = value[0]
    if isinstance(first, Mapping):
        return sig.records_to_matrix(value)
    if isinstance(first, list):
        return sig.rows_to_matrix(value)
    if len(sig) != 1:  # a flat list is one row
        return sig.rows_to_matrix([value])
    return sig.rows_to_matrix([[v] for v in value])


def parse_invocations(payload: Any, sig: Signature) -> np.ndarray:
    """An MLflow-style or ``records`` body -> matrix."""
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "request body must be a JSON object with one of " + ", ".join(MLFLOW_KEYS),
            details={"errors": [{"field": "*", "error": "expected a JSON object"}]},
        )
    given = [k for k in MLFLOW_KEYS if k in payload] if len(payload) > 1 else []
    if len(given) > 1:
        raise ValidationFailed(
            f"request body has several input keys {given}: send exactly one",
            details={"errors": [{"field": k, "error": "conflicting input key"} for k in given]},
        )
    records = payload.get("records")
    if records is not None:
        if isinstance(records, dict):
            return sig.records_to_matrix([records])
        if isinstance(records, list) and records:
            return sig.records_to_matrix(records)
        raise ValidationFailed(
            "'records' must be a non-empty list of objects",
            details={"errors": [{"field": "records", "error": "expected a non-empty list"}]},
        )
    split = payload.get("dataframe_split")
    if split is not None:
        if not isinstance(split, dict) or not isinstance(split.get("data"), list):
            raise ValidationFailed(
                "'dataframe_split' needs 'columns' and 'data'",
                details={
                    "errors": [{"field": "dataframe_split", "error": "expected columns+data"}]
                },
            )
        columns = split.get("columns")
        data = split["data"]
        if columns is None or columns == list(sig.names):
            return sig.rows_to_matrix(data)
        if not isinstance(columns, list):
            raise ValidationFailed(
                "'dataframe_split.columns' must be a list",
                details={"errors": [{"field": "dataframe_split.columns", "error": "not a list"}]},
            )
        rows = []
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(columns):
                raise ValidationFailed(
                    f"dataframe_split row {i} does not have {len(columns)} values",
                    details={"errors": [{"field": "*", "error": "wrong row width", "row": i}]},
                )
            rows.append(dict(zip(columns, row, strict=True)))
        return sig.records_to_matrix(rows)
    records = payload.get("dataframe_records")
    if records is not None:
        return _tabular(records, sig, "dataframe_records")
    for key in ("instances", "inputs"):
        value = payload.get(key)
        if value is not None:
            return _tabular(value, sig, key)
    raise ValidationFailed(
        "request body needs one of the keys " + ", ".join(MLFLOW_KEYS),
        details={"errors": [{"field": "*", "error": "no known input key"}], "keys": list(payload)},
    )


_PARAMS = ("probabilities",)


def wants_probabilities(payload: Any) -> bool:
    """True when an ``/invocations`` request asks for class probabilities (see the module
    docs); unknown params are a ValidationFailed naming them (a typo is not ignored)."""
    if not isinstance(payload, dict):
        return False
    params = payload.get("params")
    if params is None:
        return False
    if not isinstance(params, dict):
        raise ValidationFailed(
            "'params' must be an object, e.g. {\"probabilities\": true}",
            details={"errors": [{"field": "params", "error": "expected an object"}]},
        )
    unknown = [k for k in params if k not in _PARAMS]
    if unknown:
        raise ValidationFailed(
            f"unknown params {unknown}: the server takes {list(_PARAMS)}",
            details={"errors": [{"field": f"params.{k}", "error": "unknown"} for k in unknown]},
        )
    flag = params.get("probabilities", False)
    if not isinstance(flag, bool):
        raise ValidationFailed(
            "'params.probabilities' must be true or false",
            details={"errors": [{"field": "params.probabilities", "error": "expected a boolean"}]},
        )
    return flag


def _jsonable(arr: np.ndarray) -> Any:
    if arr.dtype.kind in "biuf" and arr.flags.c_contiguous:
        return arr
    return arr.tolist()


def render_invocations(
    outputs: np.ndarray,
    ids: Sequence[str],
    version: str,
    proba: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
) -> bytes:
    """``{"predictions": [...], "prediction_ids": [...], "model_version": "..."}``, plus
    ``"probabilities"`` and ``"classes"`` when given."""
    body: dict[str, Any] = {
        "predictions": _jsonable(outputs),
        "prediction_ids": ids,
        "model_version": version,
    }
    if proba is not None:
        body["probabilities"] = _jsonable(proba)
        if classes is not None:
            body["classes"] = _jsonable(np.asarray(classes))
    return orjson.dumps(body, option=_NUMPY_OPT)


_TRUE = {"true": True, "1": True, "false": False, "0": False}
_A_KIND = {"float": "a number", "int": "an integer", "bool": "a boolean", "str": "a string"}


def _cell(kind: str, text: str) -> Any:
    if kind == "str":
        return text
    if not text.strip():  # an empty cell is missing, as pandas reads it for MLflow
        return None
    if kind == "bool":
        return _TRUE[text.strip().lower()]
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            value = float(text)
            return int(value) if value.is_integer() else value
    return float(text)


def parse_csv(body: bytes, sig: Signature) -> np.ndarray:
    """A ``text/csv`` body (header row of column names, then rows) -> matrix."""
    try:
        lines = list(csv.reader(body.decode("utf-8-sig").splitlines()))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(
            f"request body is not UTF-8 CSV: {exc}",
            details={"errors": [{"field": "*", "error": "not UTF-8 CSV"}]},
        ) from None
    lines = [line for line in lines if line]
    if len(lines) < 2:
        raise ValidationFailed(
            "a CSV body needs a header row naming the columns and at least one row",
            details={"errors": [{"field": "*", "error": "no rows"}], "columns": list(sig.names)},
        )
    header = [h.strip() for h in lines[0]]
    known = set(sig.names)
    errors: list[FieldError] = [{"field": n, "error": "missing column"}
                                for n in sig.names if n not in header]  # fmt: skip
    errors += [{"field": h, "error": "unexpected column"} for h in header if h not in known]
    if errors:
        raise ValidationFailed(
            f"CSV columns do not match the model signature {list(sig.names)}",
            details={"errors": errors, "error_count": len(errors)},
        )
    where = [header.index(n) for n in sig.names]
    rows = []
    for i, line in enumerate(lines[1:]):
        if len(line) != len(header):
            errors.append({"field": "*", "error": f"{len(line)} values, header has "
                           f"{len(header)}", "row": i})  # fmt: skip
            continue
        row = []
        for name, kind, j in zip(sig.names, sig.kinds, where, strict=True):
            try:
                row.append(_cell(kind, line[j]))
            except (ValueError, KeyError):
                why = f"{line[j][:40]!r} is not {_A_KIND[kind]}"
                errors.append({"field": name, "error": why, "row": i})
        rows.append(row)
    if errors:
        raise ValidationFailed(
            f"CSV body has {len(errors)} bad value(s), first: row {errors[0].get('row')} "
            f"{errors[0]['field']}: {errors[0]['error']}",
            details={"errors": errors[:100], "error_count": len(errors)},
        )
    return sig.rows_to_matrix(rows, checked_width=True)
