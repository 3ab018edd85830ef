"""The wire codec shared by the server and the HTTP client.

JSON is orjson; NaN and ±inf travel as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"`` (orjson alone would write null) and come back as floats wherever the
declared type is a float (or untyped). Results are encoded from their dataclasses'
``to_dict()`` and decoded by their declared return type: dataclasses are rebuilt field by
field (fields a newer server adds are ignored), lists, dicts and optionals recursively.

A few argument types are not JSON: they map to a JSON shape here (``WIRE_TYPES``) —
``MetricRows`` as its four columns, a pandas DataFrame as a list of records.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, NamedTuple, Union

import orjson

from conveyor._schema import Rule

__all__ = [
    "WIRE_TYPES",
    "WireType",
    "decode",
    "decode_arg",
    "encode",
    "hint_namespace",
    "json_dumps",
    "wire_hint",
]

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# -- JSON bytes ------------------------------------------------------------------------------
def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _has_nonfinite(obj: Any) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_has_nonfinite(v) for v in obj)
    return False


def _default(obj: Any) -> Any:
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def json_dumps(content: Any) -> bytes:
    """orjson bytes with NaN / ±inf as 'NaN' / 'Infinity' / '-Infinity' (orjson writes null);
    non-string keys (class labels in reports) become their text."""
    try:
        data = orjson.dumps(content, default=_default)
    except TypeError:
        data = orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
        if _has_nonfinite(content):
            data = orjson.dumps(_clean(content), default=_default, option=orjson.OPT_NON_STR_KEYS)
        return data
    if b"null" in data and _has_nonfinite(content):
        data = orjson.dumps(_clean(content), default=_default)
    return data


# -- argument types that are not JSON ----------------------------------------------------------
class WireType(NamedTuple):
    """How one Python type travels: its JSON shape (for request schemas), both directions."""

    json_type: Any
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _metric_rows() -> tuple[type, WireType]:
    from conveyor.tracking.metric_rows import MetricRows

    def to_wire(rows: MetricRows) -> dict[str, list[Any]]:
        try:
            return rows.to_wire()
        except TypeError:  # a non-number value: let validate() name the point
            rows.validate()
            raise

    return MetricRows, WireType(
        dict[str, list[Any]], to_wire, lambda data: MetricRows.from_wire(data, validate=False)
    )


def _records(frame: Any) -> list[dict[str, Any]]:
    """DataFrame rows as JSON records: missing values as null, times as ISO text."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: None if pd.isna(t) else t.isoformat())
    out = out.astype(object).where(out.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in out.to_dict("records")]


def _frame(rows: Any) -> Any:
    from conveyor.errors import ValidationFailed

    if not isinstance(rows, list) or not rows:
        raise ValidationFailed("a data frame travels as a non-empty list of JSON records")
    import pandas as pd

    return pd.DataFrame.from_records(rows)


def _dataframe() -> tuple[type, WireType]:
    import pandas as pd

    frame_json = Annotated[list[dict[str, Any]], Rule({"minItems": 1})]
    return pd.DataFrame, WireType(frame_json, _records, _frame)


#: Factories by the module of the type they handle, so that pandas loads only when a frame
#: is actually involved.
_WIRE_FACTORIES: dict[str, Callable[[], tuple[type, WireType]]] = {
    "conveyor.tracking.metric_rows": _metric_rows,
    "pandas": _dataframe,
}
WIRE_TYPES: dict[type, WireType] = {}
_LOADED: set[str] = set()


def _wire_type(tp: Any) -> WireType | None:
    if not isinstance(tp, type):
        return None
    found = WIRE_TYPES.get(tp)
    if found is not None:
        return found
    module = tp.__module__
    for prefix, factory in _WIRE_FACTORIES.items():
        if prefix not in _LOADED and (module == prefix or module.startswith(prefix + ".")):
            _LOADED.add(prefix)
            cls, wire = factory()
            WIRE_TYPES[cls] = wire
            return WIRE_TYPES.get(tp)
    return None


def hint_namespace() -> dict[str, Any]:
    """Names that service modules import only for type checking (``pd``)."""
    import pandas as pd

    return {"pd": pd}


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def wire_hint(tp: Any) -> Any:
    """The JSON-side type of a parameter hint (request schemas): wire types replaced by
    their JSON shape, abstract collections by lists and dicts."""
    wire = _wire_type(tp)
    if wire is not None:
        return wire.json_type
    origin = typing.get_origin(tp)
    if _is_union(tp):
        parts = tuple(wire_hint(a) for a in _args(tp))
        return Union[parts]  # noqa: UP007 - built from a tuple
    if origin is tuple and len(_args(tp)) > 1 and _args(tp)[1] is not Ellipsis:
        return tuple[tuple(wire_hint(a) for a in _args(tp))]  # type: ignore[misc]
    if origin in (Iterable, Sequence, list, tuple, set, frozenset) and _args(tp):
        return list[wire_hint(_args(tp)[0])]  # type: ignore[misc]
    if origin in (Mapping, dict) and _args(tp):
        key, value = _args(tp)
        return dict[key, wire_hint(value)]  # type: ignore[misc, valid-type]
    return tp


# -- values --------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A result or argument as JSON-ready data (floats may still be non-finite)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    wire = _wire_type(type(value))  # first: MetricRows is a dataclass too
    if wire is not None:
        return wire.encode(value)
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and dataclasses.is_dataclass(value):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return value


def decode_arg(tp: Any, value: Any) -> Any:
    """A request value (already checked against ``wire_hint(tp)``) as the service's type."""
    if value is None:
        return None
    wire = _wire_type(tp)
    if wire is not None:
        return wire.decode(value)
    if _is_union(tp):
        for arg in _args(tp):
            wire = _wire_type(arg)
            if wire is not None and not isinstance(value, str | int | float | bool):
                return wire.decode(value)
    return value


def decode(tp: Any, data: Any) -> Any:
    """``data`` (parsed JSON) as the declared type ``tp``."""
    if data is None or tp is Any or tp is None or tp is type(None):
        return _any(data) if tp is Any else data
    if _is_union(tp):
        options = [a for a in _args(tp) if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else _any(data)
    origin = typing.get_origin(tp)
    if origin is tuple and len(_args(tp)) > 1 and _args(tp)[1] is not Ellipsis:
        return tuple(decode(t, v) for t, v in zip(_args(tp), data, strict=True))
    if origin in (list, Sequence, Iterable, tuple, set, frozenset):
        args = _args(tp)
        item = args[0] if args else Any
        return [decode(item, v) for v in data]
    if origin in (dict, Mapping):
        args = _args(tp)
        value_type = args[1] if len(args) == 2 else Any
        return {k: decode(value_type, v) for k, v in data.items()}
    if tp is float:
        return _NON_FINITE.get(data, data) if isinstance(data, str) else float(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp, data)
    wire = _wire_type(tp)
    if wire is not None:
        return wire.decode(data)
    return data


def _any(data: Any) -> Any:
    if isinstance(data, str):
        return _NON_FINITE.get(data, data)
    if isinstance(data, list):
        return [_any(v) for v in data]
    if isinstance(data, dict):
        return {k: _any(v) for k, v in data.items()}
    return data


_FIELD_HINTS: dict[type, dict[str, Any]] = {}


def _fast_decoders() -> dict[type, Callable[[dict[str, Any]], Any]]:
    """Entities decoded by their own ``from_dict`` (large search answers: ``Run``)."""
    from conveyor.tracking.entities import Run

    return {Run: Run.from_dict}


_FAST: dict[type, Callable[[dict[str, Any]], Any]] = {}


def _dataclass(cls: type, data: Mapping[str, Any]) -> Any:
    if not _FAST:
        _FAST.update(_fast_decoders())
    hints = _FIELD_HINTS.get(cls)
    if hints is None:
        from conveyor.client.op import resolve_hints

        resolved = resolve_hints(cls)
        hints = {f.name: resolved.get(f.name, Any) for f in dataclasses.fields(cls)}
        _FIELD_HINTS[cls] = hints
    fast = _FAST.get(cls)
    if fast is not None:
        return fast({k: v for k, v in data.items() if k in hints})
    return cls(**{k: decode(hints[k], v) for k, v in data.items() if k in hints})
