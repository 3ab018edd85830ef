"""Small helpers shared across layers: identifiers, time, canonical JSON, name checks."""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from conveyor.errors import ValidationFailed

__all__ = [
    "canonical_json",
    "check_name",
    "digest",
    "from_ms",
    "hide_credentials",
    "new_id",
    "now_ms",
    "parse_duration",
    "to_iso",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/ ]{0,249}$")
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")


def hide_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``
    (``redis://:s3cret@host`` -> ``redis://***@host``), for messages that leave the process."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def new_id() -> str:
    """A new object identifier: 32 lowercase hex characters (UUID4)."""
    return uuid.uuid4().hex


def now_ms() -> int:
    """Milliseconds since the Unix epoch, UTC."""
    return time.time_ns() // 1_000_000


def from_ms(ms: int | None) -> datetime | None:
    """A timezone-aware UTC datetime from epoch milliseconds."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_iso(ms: int | None) -> str:
    """ISO-8601 text of epoch milliseconds, or '' for None."""
    value = from_ms(ms)
    return "" if value is None else value.isoformat(timespec="milliseconds")


_DAY_MS = 86_400_000
_DATES: dict[int, str] = {}


def utc_date(ms: int) -> str:
    """``YYYY-MM-DD`` (UTC) of an epoch-millisecond time: the ``date=`` partition of the
    prediction log, shared by its writer and its readers (cached per day)."""
    day = ms // _DAY_MS
    text = _DATES.get(day)
    if text is None:
        text = _DATES[day] = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")
    return text


def _default(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def canonical_json(obj: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys) used for digests."""
    return orjson.dumps(
        obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_default
    )


def digest(obj: Any) -> str:
    """sha256 hex of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def check_name(value: object, what: str) -> str:
    """Validate a human name (experiment, model, dataset, param key ...) and return it."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{what} must be a string, got {type(value).__name__}")
    if (
        not _NAME.match(value)
        or value != value.strip()
        or any(part in ("", ".", "..") for part in value.split("/"))
    ):
        raise ValidationFailed(
            f"invalid {what} {value!r}: use 1-250 characters from letters, digits, '_', '-', "
            "'.', '/' and spaces, starting with a letter or digit, without surrounding spaces "
            "or empty, '.' or '..' parts between slashes"
        )
    return value


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$")


def parse_duration(value: str | float | int | timedelta) -> float:
    """Seconds in ``"90s"``, ``"15m"``, ``"1h"``, ``"7d"``, ``"2w"``, a number of seconds or
    a ``timedelta``; ValidationFailed naming the bad value otherwise."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value.lower())):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ValidationFailed(
            f"bad duration {value!r}: use e.g. '30s', '15m', '1h', '7d' or a number of seconds"
        )
    if seconds < 0:
        raise ValidationFailed(f"a duration cannot be negative, got {value!r}")
    return seconds
