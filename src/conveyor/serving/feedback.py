"""``POST /feedback``: ground truth for logged predictions, checked field by field.

Bodies::

    {"prediction_id": "9f...", "label": 1}                      one label, default endpoint
    {"prediction_id": "9f...", "label": 1, "endpoint": "churn"}  one label, named endpoint
    {"endpoint": "churn", "feedback": [{"prediction_id": ..., "label": ...}, ...]}
    [{"prediction_id": ..., "label": ..., "endpoint": ...}, ...]

``prediction_id`` is a non-empty string (at most 200 characters), ``label`` a JSON string,
number or boolean, ``endpoint`` the name of an endpoint this server serves; a top-level
``endpoint`` applies to every item (an item naming another one is an error). Any other
key is refused, naming it: a typo never sends labels to the wrong place.

The answer counts ``accepted`` labels (queued for the feedback log) and ``matched`` ones:
ids found among the predictions of that endpoint already written to the prediction log
within the last ``match_days`` days. Matching reads only the ``prediction_id`` column of
those Parquet files, newest day first, stopping once every id is found — off the event
loop and never on the predict path — so its cost grows with the predictions logged per
day. Predictions still in the log's memory buffer (written every ``flush_interval_s``)
are not on disk yet and count as unmatched; their labels are stored all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from conveyor.errors import ValidationFailed

__all__ = ["count_matched", "parse_feedback"]

_ITEM_KEYS = ("prediction_id", "label", "endpoint")
_BATCH_KEYS = ("feedback", "endpoint")
_MAX_ID = 200

Labels = dict[str, list[tuple[str, Any]]]


def _unknown(keys: Collection[Any], allowed: Sequence[str], row: int | None) -> list[Any]:
    where = {} if row is None else {"row": row}
    return [
        {"field": str(k)[:100], "error": f"unknown key; allowed: {list(allowed)}", **where}
        for k in keys
        if k not in allowed
    ]


def _endpoint_error(name: Any, known: Collection[str]) -> str | None:
    if isinstance(name, str) and name in known:
        return None
    shown = repr(name) if isinstance(name, str) else f"of type {type(name).__name__}"
    return f"unknown endpoint {shown}; serving {sorted(known)}"


def _item(item: Any, i: int, endpoint: Any, top: bool, known: Collection[str]) -> list[Any]:
    """The errors of one feedback item (empty when it is valid); ``top``: ``endpoint`` was
    named by the body (and checked there)."""
    if not isinstance(item, dict):
        return [{"field": "*", "error": "expected an object", "row": i}]
    errors = _unknown(item, _ITEM_KEYS, i)
    pid = item.get("prediction_id")
    if not isinstance(pid, str) or not pid or len(pid) > _MAX_ID:
        why = (
            "missing"
            if pid is None
            else f"expected a non-empty string of at most {_MAX_ID} characters"
        )
        errors.append({"field": "prediction_id", "error": why, "row": i})
    if "label" not in item:
        errors.append({"field": "label", "error": "missing", "row": i})
    elif type(item["label"]) not in (str, int, float, bool):
        errors.append({"field": "label", "error": "expected a string, number or boolean",
                       "row": i})  # fmt: skip
    own = item.get("endpoint", endpoint)
    if top:
        if own != endpoint:
            errors.append({"field": "endpoint", "error": f"{str(own)[:100]!r} differs from "
                           f"the body's endpoint {endpoint!r}", "row": i})  # fmt: skip
    else:
        bad = _endpoint_error(own, known)
        if bad is not None:
            errors.append({"field": "endpoint", "error": bad, "row": i})
    return errors


def parse_feedback(payload: Any, default: str | None, known: Collection[str]) -> Labels:
    """``(prediction_id, label)`` pairs by endpoint; ValidationFailed listing every error."""
    errors: list[Any] = []
    endpoint: Any = default
    top = False
    if isinstance(payload, dict) and "feedback" in payload:
        errors += _unknown(payload, _BATCH_KEYS, None)
        items = payload["feedback"]
        if "endpoint" in payload:
            endpoint, top = payload["endpoint"], True
    elif isinstance(payload, dict):
        items = [payload]
    else:
        items = payload
    if not isinstance(items, list) or not items:
        raise ValidationFailed(
            "feedback must be an object or a non-empty list of objects",
            details={"errors": [{"field": "feedback", "error": "expected a non-empty list"}]},
        )
    if top:
        why = _endpoint_error(endpoint, known)
        if why is not None:
            errors.append({"field": "endpoint", "error": why})
    by_endpoint: Labels = {}
    for i, item in enumerate(items):
        found = _item(item, i, endpoint, top, known)
        if found:
            errors += found
        elif not errors:
            name = item.get("endpoint", endpoint)
            by_endpoint.setdefault(name, []).append((item["prediction_id"], item["label"]))
    if errors:
        unknown = sorted({e["field"] for e in errors if e["error"].startswith("unknown key")})
        lead = f"unknown key(s) {unknown}; " if unknown else ""
        raise ValidationFailed(
            f"feedback has {len(errors)} error(s): {lead}first: {errors[0]['field']}: "
            f"{errors[0]['error']}",
            details={"errors": errors[:100], "error_count": len(errors)},
        )
    return by_endpoint


def _day_files(
    log_uri: str, endpoint: str, days: int, storage: dict[str, Any]
) -> tuple[Any, list[str]]:
    """The filesystem (None: local) and the prediction files of ``endpoint`` written in the
    last ``days`` days, newest first."""
    today = dt.datetime.now(dt.UTC).date()
    wanted = {f"date={today - dt.timedelta(days=d)}" for d in range(days + 1)}
    root = log_uri.removeprefix("file://")
    if "://" in root:
        import fsspec

        fs, base = fsspec.core.url_to_fs(root, **storage)
        found = fs.glob(f"{base.rstrip('/')}/predictions/endpoint={endpoint}/date=*/*.parquet")
    else:
        fs = None
        folder = Path(root) / "predictions" / f"endpoint={endpoint}"
        found = [str(p) for p in folder.glob("date=*/*.parquet")] if folder.is_dir() else []
    files = [f for f in found if f.replace("\\", "/").rsplit("/", 2)[-2] in wanted]
    return fs, sorted(files, reverse=True)


def count_matched(
    log_uri: str,
    endpoint: str,
    ids: Sequence[str],
    *,
    days: int = 30,
    storage_options: dict[str, Any] | None = None,
) -> int:
    """How many of ``ids`` are predictions of ``endpoint`` in the log (see the module docs)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    fs, files = _day_files(log_uri, endpoint, days, storage_options or {})
    missing = set(ids)
    for path in files:
        if not missing:
            break
        column = pq.read_table(path, columns=["prediction_id"], filesystem=fs)["prediction_id"]
        hits = column.filter(pc.is_in(column, value_set=pa.array(list(missing), pa.string())))
        missing.difference_update(hits.to_pylist())
    found = set(ids) - missing
    return sum(1 for i in ids if i in found)
