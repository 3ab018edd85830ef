"""Open Inference Protocol v2: request -> matrix, outputs -> response, model metadata.

One request layout is advertised by the metadata (see :func:`model_metadata`); both are
accepted::

    {"id": "...", "inputs": [{"name": "input", "shape": [n, k], "datatype": "FP64",
                              "data": [...flat or nested...]}]}
    {"inputs": [{"name": "<column>", "shape": [n], "datatype": "FP64", "data": [...]}, ...]}

Any input may come as raw bytes instead of ``data`` (the binary tensor extension, see
``conveyor.serving.binary``). A declared ``datatype`` is checked against the values
(``UINT8`` takes 0..255, ``FP32`` numbers within float32's range ...). ``"outputs"``
names what to return (``predict``, ``probabilities``); each may ask for binary data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from conveyor.errors import ValidationFailed
from conveyor.serving.binary import DTYPES, decode_tensor, encode_tensor
from conveyor.serving.predictor import Signature

__all__ = [
    "OUTPUTS",
    "V2_DATATYPES",
    "Asked",
    "model_metadata",
    "parse_v2",
    "render_v2",
    "requested_outputs",
    "v2_datatype",
]

V2_DATATYPES = {*DTYPES, "BYTES"}
OUTPUTS = ("predict", "probabilities")
_NUMPY_OPT = orjson.OPT_SERIALIZE_NUMPY
_INT_RANGE = {k: (int(np.iinfo(d).min), int(np.iinfo(d).max)) for k, d in DTYPES.items()
              if d.kind in "iu"}  # fmt: skip
_CHECKED = frozenset((*_INT_RANGE, "BOOL"))
_BY_DTYPE = {d.newbyteorder("="): name for name, d in DTYPES.items()}
_KIND_DATATYPE = {"float": "FP64", "int": "INT64", "bool": "BOOL", "str": "BYTES"}

Asked = tuple[tuple[str, ...], frozenset[str]]
"""The outputs to return, in order, and those of them to send as binary data."""

_DEFAULT: Asked = (("predict",), frozenset())
_DEFAULT_BINARY: Asked = (("predict",), frozenset({"predict"}))


def _field_error(field: str, error: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid v2 input {field!r}: {error}",
        details={"errors": [{"field": field, "error": error}], "error_count": 1},
    )


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(
            f"{field!r} must be true or false",
            details={"errors": [{"field": field, "error": "expected a boolean"}]},
        )
    return value


def requested_outputs(payload: Any) -> Asked:
    """What the request asks back; unknown output names are a ValidationFailed naming them."""
    if not isinstance(payload, dict):
        return _DEFAULT
    params = payload.get("parameters")
    binary_all = False
    if params is not None:
        if not isinstance(params, dict):
            raise _field_error("parameters", "expected an object")
        if "binary_data_output" in params:
            binary_all = _flag(params["binary_data_output"], "parameters.binary_data_output")
    outputs = payload.get("outputs")
    if outputs is None:
        return _DEFAULT_BINARY if binary_all else _DEFAULT
    if not isinstance(outputs, list) or not outputs:
        raise _field_error("outputs", 'expected a non-empty list of {"name": ...} objects')
    names: list[str] = []
    binary: set[str] = set()
    for i, out in enumerate(outputs):
        name = out.get("name") if isinstance(out, dict) else out
        if name not in OUTPUTS:
            raise ValidationFailed(
                f"unknown requested output {name!r}: this model has {list(OUTPUTS)}",
                details={"errors": [{"field": f"outputs[{i}]", "error": f"unknown {name!r}"}]},
            )
        names.append(name)
        wants = binary_all
        p = out.get("parameters") if isinstance(out, dict) else None
        if isinstance(p, dict) and "binary_data" in p:
            wants = _flag(p["binary_data"], f"outputs[{i}].parameters.binary_data")
        if wants:
            binary.add(name)
    return tuple(dict.fromkeys(names)), frozenset(binary)


def _flat(data: list[Any]) -> list[Any]:
    if data and isinstance(data[0], list):
        return [v for row in data for v in (row if isinstance(row, list) else [row])]
    return data


def _check_values(name: str, datatype: str, data: list[Any]) -> None:
    """JSON ``data`` of an integer or BOOL datatype against that type's values. Numbers of
    FP datatypes are checked against the model's own dtype when the matrix is built (a
    value beyond float32 for a float32 model is refused there), strings by the signature;
    so is ``null``, allowed where the signature allows a missing value."""
    lim = _INT_RANGE.get(datatype)
    if lim is not None:
        lo, hi = lim
        for v in _flat(data):
            if (type(v) is not int or not lo <= v <= hi) and v is not None:
                raise _field_error(name, f"{v!r} is not a {datatype} value ({lo}..{hi})")
    elif datatype == "BOOL":
        for v in _flat(data):
            if type(v) is not bool and v is not None:
                raise _field_error(name, f"{v!r} is not a BOOL value (true or false)")


def _v2_input(entry: Any, i: int, tail: memoryview | None, pos: int) -> tuple[Any, ...]:
    if not isinstance(entry, dict):
        raise _field_error(f"inputs[{i}]", "expected an object")
    name = entry.get("name")
    shape = entry.get("shape")
    datatype = entry.get("datatype")
    if not isinstance(name, str):
        raise _field_error(f"inputs[{i}].name", "missing")
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise _field_error(name, "shape must be a list of non-negative integers")
    if datatype is not None and datatype not in V2_DATATYPES:
        raise _field_error(name, f"unknown datatype {datatype!r}")
    params = entry.get("parameters")
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is None:
        data = entry.get("data")
        if not isinstance(data, list):
            raise _field_error(name, "data must be a list")
        if datatype in _CHECKED:
            _check_values(name, datatype, data)
        return name, shape, data, pos
    if tail is None:
        raise _field_error(
            name, "binary_data_size needs the Inference-Header-Content-Length header"
        )
    if type(size) is not int or size < 0 or pos + size > len(tail):
        raise _field_error(
            name, f"binary_data_size {size!r} does not fit the {len(tail) - pos} bytes left"
        )
    return name, shape, decode_tensor(name, datatype, shape, tail[pos : pos + size]), pos + size


def _tensor_matrix(name: str, shape: list[int], data: Any, sig: Signature) -> np.ndarray:
    """One ``[n, k]`` tensor (JSON lists or decoded bytes) -> matrix."""
    k = len(sig)
    given = shape
    if len(shape) == 1:
        shape = [1, shape[0]]
    if len(shape) != 2 or shape[1] != k:
        raise _field_error(name, f"shape must be [n, {k}], got {given}")
    if isinstance(data, np.ndarray):
        if sig.all_float and data.dtype.kind in "iuf":
            return sig.cast(data.reshape(shape))
        data = data.reshape(shape).tolist()
    if data and isinstance(data[0], list):
        rows = data
    else:
        if len(data) != shape[0] * k:
            raise _field_error(name, f"data has {len(data)} values, shape needs {shape[0] * k}")
        rows = [data[j * k : (j + 1) * k] for j in range(shape[0])]
    if len(rows) != shape[0]:
        raise _field_error(name, f"data has {len(rows)} rows, shape says {shape[0]}")
    return sig.rows_to_matrix(rows)


def parse_v2(
    payload: Any, sig: Signature, tail: memoryview | None = None
) -> tuple[np.ndarray, str | None]:
    """A v2 request (its JSON header and, for binary inputs, the bytes after it) ->
    (matrix, request id or None)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list):
        raise _field_error("inputs", "the body must be an object with a list 'inputs'")
    req_id = payload.get("id")
    if req_id is not None and not isinstance(req_id, str):
        raise ValidationFailed(
            f"'id' must be a string, got {type(req_id).__name__}",
            details={"errors": [{"field": "id", "error": "expected a string"}]},
        )
    inputs = payload["inputs"]
    if not inputs:
        raise _field_error("inputs", "empty")
    parsed, pos = [], 0
    for i, entry in enumerate(inputs):
        name, shape, data, pos = _v2_input(entry, i, tail, pos)
        parsed.append((name, shape, data))
    if tail is not None and pos != len(tail):
        raise _field_error("inputs", f"{len(tail) - pos} bytes after the last binary input")
    # one input is the [n, k] tensor, unless it is named after a column (then the other
    # columns are missing, and the per-column path says so)
    if len(parsed) == 1 and parsed[0][0] not in sig.names:
        return _tensor_matrix(*parsed[0], sig), req_id
    columns: dict[str, Any] = {}
    for name, shape, data in parsed:
        flat = data.reshape(-1).tolist() if isinstance(data, np.ndarray) else _flat(data)
        if shape and shape[0] != len(flat):
            raise _field_error(name, f"data has {len(flat)} values, shape says {shape[0]}")
        columns[name] = flat
    return sig.columns_to_matrix(columns), req_id


def v2_datatype(arr: np.ndarray) -> str:
    """The v2 datatype of a numpy array (BYTES for anything not numeric or boolean)."""
    name = _BY_DTYPE.get(arr.dtype)
    if name is None and arr.dtype.kind in "biuf":  # big-endian
        name = _BY_DTYPE.get(arr.dtype.newbyteorder("="))
    return name or "BYTES"


def _jsonable(arr: np.ndarray) -> Any:
    if arr.dtype.kind in "biuf" and arr.flags.c_contiguous:
        return arr
    return arr.tolist()


def render_v2(
    model: str,
    version: str,
    req_id: str | None,
    outputs: np.ndarray,
    ids: Sequence[str],
    proba: np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    asked: Asked = _DEFAULT,
) -> tuple[bytes, int | None]:
    """A v2 response (the prediction ids in ``parameters``, the class order of a
    ``probabilities`` output in ``parameters.classes``) and, when some outputs are binary,
    the length of its JSON header (the ``Inference-Header-Content-Length``)."""
    parameters: dict[str, Any] = {"prediction_ids": ids}
    names, binary = asked
    tensors, raw = [], []
    for name in names:
        values = outputs if name == "predict" else proba
        if values is None:
            continue
        if name == "probabilities" and classes is not None:
            parameters["classes"] = _jsonable(np.asarray(classes))
        tensor: dict[str, Any] = {
            "name": name,
            "shape": list(values.shape),
            "datatype": v2_datatype(values),
        }
        if name in binary:
            chunk = encode_tensor(values)
            tensor["parameters"] = {"binary_data_size": len(chunk)}
            raw.append(chunk)
        else:
            tensor["data"] = _jsonable(values.reshape(-1))
        tensors.append(tensor)
    header = orjson.dumps(
        {
            "model_name": model,
            "model_version": version,
            "id": req_id if req_id is not None else ids[0],
            "parameters": parameters,
            "outputs": tensors,
        },
        option=_NUMPY_OPT,
    )
    if not raw:
        return header, None
    return b"".join([header, *raw]), len(header)


def model_metadata(
    name: str,
    versions: Sequence[str],
    sig: Signature,
    outputs: Sequence[dict[str, Any]],
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """The advertised layout: one ``input`` tensor ``[-1, k]`` in the model's own dtype when
    every column is numeric (its column order in ``parameters.columns``), else one tensor
    per column; the other layout is accepted too."""
    if sig.numeric:
        inputs: list[dict[str, Any]] = [
            {
                "name": "input",
                "datatype": v2_datatype(np.zeros(0, dtype=sig.dtype)),
                "shape": [-1, len(sig)],
            }
        ]
    else:
        inputs = [
            {"name": c.name, "datatype": _KIND_DATATYPE[c.kind], "shape": [-1]} for c in sig.columns
        ]
    return {
        "name": name,
        "versions": list(versions),
        "platform": "conveyor",
        "inputs": inputs,
        "outputs": list(outputs),
        "parameters": {"columns": list(sig.names), **parameters},
    }
