"""Points in time as users type them: ISO-8601, epoch milliseconds, or an age (``7d``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from conveyor._util import now_ms, parse_duration
from conveyor.errors import ValidationFailed

__all__ = ["parse_time"]

_AGE = re.compile(r"^\s*[0-9]{1,12}(?:\.[0-9]+)?\s*(ms|s|min|m|h|d|w)\s*$", re.IGNORECASE)
_MS = re.compile(r"^[0-9]{1,15}$")
_LATEST = 2**53 - 1  # a bound every store and JSON client can hold


def parse_time(value: str | int, what: str = "time", *, now: int | None = None) -> int:
    """Epoch milliseconds (UTC) of ``value``.

    ``"2026-01-31"`` and ``"2026-01-31T12:00:00Z"`` (naive times are UTC), a plain integer
    of epoch milliseconds, or an age before ``now`` such as ``"7d"``, ``"12h"``, ``"30m"``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 0), _LATEST)
    text = str(value).strip()
    if _MS.match(text):
        return int(text)
    if _AGE.match(text):
        return max(0, (now_ms() if now is None else now) - int(parse_duration(text) * 1000))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return min(max(int(parsed.timestamp() * 1000), 0), _LATEST)
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed(
            f"bad {what} {value!r}: use an ISO date or time (2026-01-31, "
            "2026-01-31T12:00Z), epoch milliseconds, or an age such as 7d or 12h"
        ) from None
