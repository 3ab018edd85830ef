"""Request bodies -> input matrix, predictions -> response bodies.

Accepted on ``POST /invocations`` (MLflow scoring protocol plus a plain form)::

    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    {"dataframe_records": [{"col": v, ...}, ...]}
    {"instances": [{...}, ...]}   or   [[...], ...]   or   {"col": [...], ...}
    {"inputs": ...}               same shapes as "instances"
    {"records": [{...}, ...]}     or a single object {"records": {...}}

and on ``POST /v2/models/{name}/infer`` (Open Inference Protocol v2)::

    {"id": "...", "inputs": [{"name": "input", "shape": [n, k], "datatype": "FP32",
                              "data": [...flat or nested...]}]}
    {"inputs": [{"name": "<column>", "shape": [n], "datatype": "FP64", "data": [...]}, ...]}

Every parser returns a 2-D numpy matrix in the signature's column order or raises
``ValidationFailed`` listing each field error.

Class probabilities are returned when asked for (classifiers only; unknown params or
output names are a 422 naming them):
``{"params": {"probabilities": true}, ...}`` on ``/invocations`` adds ``"probabilities"``
(one list per row) and ``"classes"`` (their order, when known); a v2 request naming
``{"name": "probabilities"}`` in its ``"outputs"`` gets that output tensor too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from conveyor.errors import MalformedRequest, ValidationFailed
from conveyor.serving.predictor import Signature

__all__ = [
    "MLFLOW_KEYS",
    "V2_DATATYPES",
    "loads",
    "parse_invocations",
    "parse_v2",
    "render_invocations",
    "render_v2",
    "v2_datatype",
    "wants_probabilities",
]

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs", "records")
V2_DATATYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
}
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


_V2_OUTPUTS = ("predict", "probabilities")
_PARAMS = ("probabilities",)


def wants_probabilities(payload: Any, v2: bool) -> bool:
    """True when the request asks for class probabilities (see the module docs); unknown
    output names or params are a ValidationFailed naming them (a typo is not ignored)."""
    if not isinstance(payload, dict):
        return False
    if v2:
        outputs = payload.get("outputs")
        if outputs is None:
            return False
        names = (
            [o.get("name") if isinstance(o, dict) else o for o in outputs]
            if isinstance(outputs, list)
            else [outputs]
        )
        unknown = [n for n in names if n not in _V2_OUTPUTS]
        if unknown:
            raise ValidationFailed(
                f"unknown requested output(s) {unknown}: this model has {list(_V2_OUTPUTS)}",
                details={"errors": [{"field": "outputs", "error": f"unknown {n!r}"}
                                    for n in unknown]},
            )  # fmt: skip
        return "probabilities" in names
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


def _field_error(field: str, error: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid v2 input {field!r}: {error}",
        details={"errors": [{"field": field, "error": error}], "error_count": 1},
    )


def _v2_input(entry: Any, i: int) -> tuple[str, list[int], Any]:
    if not isinstance(entry, dict):
        raise _field_error(f"inputs[{i}]", "expected an object")
    name = entry.get("name")
    shape = entry.get("shape")
    datatype = entry.get("datatype")
    data = entry.get("data")
    if not isinstance(name, str):
        raise _field_error(f"inputs[{i}].name", "missing")
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise _field_error(name, "shape must be a list of non-negative integers")
    if datatype is not None and datatype not in V2_DATATYPES:
        raise _field_error(name, f"unknown datatype {datatype!r}")
    if not isinstance(data, list):
        raise _field_error(name, "data must be a list")
    return name, shape, data


def parse_v2(payload: Any, sig: Signature) -> tuple[np.ndarray, str | None]:
    """An Open Inference Protocol v2 request -> (matrix, request id or None)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise _field_error("inputs", "the body must be an object with a list 'inputs'")
    req_id = payload.get("id")
    req_id = str(req_id) if req_id is not None else None
    inputs = payload["inputs"]
    if not inputs:
        raise _field_error("inputs", "empty")
    parsed = [_v2_input(e, i) for i, e in enumerate(inputs)]
    names = set(sig.names)
    # one input is the [n, k] tensor, unless it is named after a column (then the other
    # columns are missing, and the per-column path says so)
    if len(parsed) == 1 and parsed[0][0] not in names:
        name, shape, data = parsed[0]
        k = len(sig)
        if len(shape) == 1:
            shape = [1, shape[0]]
        if len(shape) != 2 or shape[1] != k:
            raise _field_error(name, f"shape must be [n, {k}], got {parsed[0][1]}")
        if data and isinstance(data[0], list):
            rows = data
        else:
            if len(data) != shape[0] * k:
                raise _field_error(name, f"data has {len(data)} values, shape needs {shape[0] * k}")
            rows = [data[j * k : (j + 1) * k] for j in range(shape[0])]
        if len(rows) != shape[0]:
            raise _field_error(name, f"data has {len(rows)} rows, shape says {shape[0]}")
        return sig.rows_to_matrix(rows), req_id
    columns: dict[str, Any] = {}
    for name, shape, data in parsed:
        flat = data
        if data and isinstance(data[0], list):
            flat = [v for row in data for v in (row if isinstance(row, list) else [row])]
        if shape and shape[0] != len(flat):
            raise _field_error(name, f"data has {len(flat)} values, shape says {shape[0]}")
        columns[name] = flat
    return sig.columns_to_matrix(columns), req_id


def v2_datatype(arr: np.ndarray) -> str:
    kind = arr.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind == "f":
        return "FP32" if arr.dtype.itemsize == 4 else "FP64"
    if kind in "iu":
        return ("UINT" if kind == "u" else "INT") + str(arr.dtype.itemsize * 8)
    return "BYTES"


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


def _v2_output(name: str, values: np.ndarray) -> dict[str, Any]:
    return {
        "name": name,
        "shape": list(values.shape),
        "datatype": v2_datatype(values),
        "data": _jsonable(values.reshape(-1)),
    }


def render_v2(
    model: str,
    version: str,
    req_id: str | None,
    outputs: np.ndarray,
    ids: Sequence[str],
    proba: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
) -> bytes:
    """An Open Inference Protocol v2 response with the prediction ids as a parameter (and
    a ``probabilities`` output, its class order in ``parameters.classes``, when given)."""
    parameters: dict[str, Any] = {"prediction_ids": ids}
    tensors = [_v2_output("predict", outputs)]
    if proba is not None:
        tensors.append(_v2_output("probabilities", proba))
        if classes is not None:
            parameters["classes"] = _jsonable(np.asarray(classes))
    return orjson.dumps(
        {
            "model_name": model,
            "model_version": version,
            "id": req_id if req_id is not None else ids[0],
            "parameters": parameters,
            "outputs": tensors,
        },
        option=_NUMPY_OPT,
    )
