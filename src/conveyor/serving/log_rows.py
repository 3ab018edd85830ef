"""Prediction-log rows between the request path and Parquet.

The request path keeps one :data:`Entry` tuple per request (references to its arrays, no
copies); the writer transposes a stream's entries into per-row columns
(:func:`entries_to_rows`, C loops only) and :func:`rows_table` turns those :class:`Rows`
into the Arrow table of the documented columns.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from conveyor._util import utc_date
from conveyor.serving.predictor import Signature

__all__ = ["Entry", "Failure", "Rows", "entries_to_rows", "failures_table", "rows_table"]

_DAY_MS = 86_400_000
_ARROW_KIND = {"float": "float64", "int": "int64", "bool": "bool_", "str": "string"}
_NUMPY = orjson.OPT_SERIALIZE_NUMPY

Entry = tuple[Any, ...]
"""One request kept whole: ``(ids, ts_ms, rows, latency_ms, matrix, outputs, proba,
shadow_of, agree)``."""

Failure = tuple[str, str | None, int, float, int, str]
"""One failed request: ``(prediction_id, route, ts_ms, latency_ms, status, error)``."""

#: What an answered row carries in the ``status`` / ``error`` columns.
OK_STATUS = 200


@dataclass(slots=True)
class Rows:
    """Columns of logged rows, one entry per row.

    ``proba`` is a 2-D float array, a list of per-row probability lists (None where a
    row has none), or None when no row has any; ``shadow_of``/``agree`` are per-row
    lists for shadow rows, else None.
    """

    ids: list[str]
    ts: np.ndarray
    latency: np.ndarray
    matrix: np.ndarray
    outputs: np.ndarray
    proba: Any = None
    shadow_of: list[Any] | None = None
    agree: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows at positions ``idx``."""

        def pick(values: Any) -> Any:
            if values is None or isinstance(values, np.ndarray):
                return None if values is None else values[idx]
            return [values[i] for i in idx]

        return Rows(
            [self.ids[i] for i in idx], self.ts[idx], self.latency[idx], self.matrix[idx],
            self.outputs[idx], pick(self.proba), pick(self.shadow_of), pick(self.agree),
        )  # fmt: skip

    def by_date(self) -> list[tuple[str, Rows]]:
        """The rows split by the UTC date of their time (one part on most days)."""
        days = self.ts // _DAY_MS
        first, last = int(days.min()), int(days.max())
        if first == last:
            return [(utc_date(first * _DAY_MS), self)]
        return [
            (utc_date(int(day) * _DAY_MS), self.take(np.flatnonzero(days == day)))
            for day in np.unique(days)
        ]


def _nones(values: tuple[Any, ...]) -> int:
    """How many of ``values`` are None (``tuple.count`` would compare arrays with ==)."""
    return sum(map(operator.is_, values, itertools.repeat(None)))


def _per_row(values: tuple[Any, ...], counts: tuple[int, ...], convert: Any) -> list[Any]:
    """One entry per row from per-request values that may be None (then None per row)."""
    out: list[Any] = []
    for v, n in zip(values, counts, strict=True):
        out.extend([None] * n if v is None else (convert(x) for x in v))
    return out


def _stacked_proba(probas: tuple[Any, ...], counts: tuple[int, ...]) -> Any:
    missing = _nones(probas)
    if missing == len(probas):
        return None
    if not missing:
        try:
            flat = np.concatenate(probas)
        except ValueError:  # class counts differ between requests
            flat = None
        if flat is not None and flat.ndim == 2:
            return flat
    return _per_row(probas, counts, lambda row: np.asarray(row, dtype=np.float64).tolist())


def entries_to_rows(entries: list[Entry]) -> Rows:
    """Requests kept whole, transposed (in C) into per-row columns."""
    ids, ts, counts_t, latency, matrices, outputs, probas, shadow_of, agree = zip(
        *entries, strict=True
    )
    counts = np.asarray(counts_t, dtype=np.int64)
    matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
    try:
        out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
    except ValueError:  # shapes differ between requests
        out = np.array([v for o in outputs for v in o.tolist()], dtype=object)
    shadows = _nones(shadow_of) < len(shadow_of)
    return Rows(
        list(itertools.chain.from_iterable(ids)),
        np.repeat(np.asarray(ts, dtype=np.int64), counts),
        np.repeat(np.asarray(latency, dtype=np.float64), counts),
        matrix,
        out,
        _stacked_proba(probas, counts_t),
        _per_row(shadow_of, counts_t, str) if shadows else None,
        _per_row(agree, counts_t, bool) if shadows else None,
    )


def _json_texts(values: list[Any]) -> list[str]:
    return [orjson.dumps(v, option=_NUMPY).decode() for v in values]


def _output_texts(out: np.ndarray) -> Any:
    """The JSON text of each row's output, as an Arrow string array; numeric outputs are
    encoded in one call and split (numbers hold no ``,`` and rows no ``],[``)."""
    import pyarrow as pa

    kind = out.dtype.kind
    if out.ndim == 1 and kind in "iub":
        return pa.array(out.astype(np.int64) if kind == "b" else out).cast(pa.string())
    if out.ndim == 1 and kind == "f" and len(out):
        return pa.array(orjson.dumps(out, option=_NUMPY)[1:-1].decode().split(","), pa.string())
    if out.ndim == 2 and kind in "iuf" and out.shape[1] and len(out):
        inner = orjson.dumps(out, option=_NUMPY)[2:-2].decode().split("],[")
        return pa.array([f"[{row}]" for row in inner], pa.string())
    return pa.array(_json_texts(out.tolist()), pa.string())


def _input_columns(sig: Signature, matrix: np.ndarray) -> dict[str, Any]:
    """One typed column per signature column. Float columns keep the matrix's precision:
    a float32 model's inputs are logged as float32, the values the model received, so
    monitoring compares the training data in float32 too (``_sources.narrowest_float``)."""
    import pyarrow as pa

    narrow = matrix.dtype == np.float32
    if sig.all_float and matrix.dtype != object:
        wide = np.float32 if narrow else np.float64
        columns = np.ascontiguousarray(matrix.T, dtype=wide)  # one copy for all columns
        return {f"input_{n}": pa.array(c) for n, c in zip(sig.names, columns, strict=True)}
    out: dict[str, Any] = {}
    for j, (name, kind) in enumerate(zip(sig.names, sig.kinds, strict=True)):
        col = matrix[:, j]
        typ = pa.float32() if narrow and kind == "float" else getattr(pa, _ARROW_KIND[kind])()
        if matrix.dtype == object:
            out[f"input_{name}"] = pa.array(col.tolist(), typ)
        else:
            out[f"input_{name}"] = pa.array(np.ascontiguousarray(col)).cast(typ)
    return out


def _proba_column(proba: Any, total: int) -> Any:
    """``list<double>`` of class probabilities, null for rows served without them."""
    import pyarrow as pa

    typ = pa.list_(pa.float64())
    if proba is None:
        return pa.nulls(total, typ)
    if isinstance(proba, np.ndarray):
        flat = np.ascontiguousarray(proba, dtype=np.float64)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1]).cast(
            typ
        )
    return pa.array(proba, typ)


def rows_table(endpoint: str, version: str, route: str, sig: Signature, rows: Rows) -> Any:
    """The Arrow table of the documented prediction-log columns."""
    import pyarrow as pa

    total = len(rows)
    out = rows.outputs
    numeric = out.ndim == 1 and out.dtype.kind in "biuf"
    table: dict[str, Any] = {
        "prediction_id": pa.array(rows.ids, pa.string()),
        "ts": pa.array(rows.ts, pa.timestamp("ms", "UTC")),
        "endpoint": pa.repeat(pa.scalar(endpoint, pa.string()), total),
        "model_version": pa.repeat(pa.scalar(version, pa.string()), total),
        "route": pa.repeat(pa.scalar(route, pa.string()), total),
        "latency_ms": pa.array(rows.latency, pa.float64()),
        **_input_columns(sig, rows.matrix),
        "output": _output_texts(out),
        "output_num": (
            pa.array(out.astype(np.float64), pa.float64())
            if numeric
            else pa.nulls(total, pa.float64())
        ),
        "proba": _proba_column(rows.proba, total),
        "shadow_of": pa.array(rows.shadow_of, pa.string())
        if rows.shadow_of is not None
        else pa.nulls(total, pa.string()),
        "agree": pa.array(rows.agree, pa.bool_())
        if rows.agree is not None
        else pa.nulls(total, pa.bool_()),
        "status": pa.repeat(pa.scalar(OK_STATUS, pa.int32()), total),
        "error": pa.nulls(total, pa.string()),
    }
    return pa.table(table)


def failures_table(endpoint: str, version: str, failures: list[Failure]) -> Any:
    """The Arrow table of failed requests, one row each: the columns of :func:`rows_table`
    without inputs (null output, probabilities and shadow columns), ``status`` the HTTP
    status answered and ``error`` its message."""
    import pyarrow as pa

    ids, routes, ts, latency, status, error = zip(*failures, strict=True)
    total = len(ids)
    return pa.table(
        {
            "prediction_id": pa.array(ids, pa.string()),
            "ts": pa.array(ts, pa.timestamp("ms", "UTC")),
            "endpoint": pa.repeat(pa.scalar(endpoint, pa.string()), total),
            "model_version": pa.repeat(pa.scalar(version, pa.string()), total),
            "route": pa.array(routes, pa.string()),
            "latency_ms": pa.array(latency, pa.float64()),
            "output": pa.nulls(total, pa.string()),
            "output_num": pa.nulls(total, pa.float64()),
            "shadow_of": pa.nulls(total, pa.string()),
            "agree": pa.nulls(total, pa.bool_()),
            "status": pa.array(status, pa.int32()),
            "error": pa.array(error, pa.string()),
        }
    )
