"""Points in time as users type them: ISO-8601, epoch milliseconds, or an age (``7d``).

:data:`TimeSpec` carries the exact pattern (for the OpenAPI document) that
:func:`parse_time` accepts, so the schema and the check agree.
"""

from __future__ import annotations

import calendar
import re
from typing import Annotated

from conveyor._schema import END, Rule
from conveyor._util import now_ms, parse_duration
from conveyor.errors import ValidationFailed

__all__ = ["TimeSpec", "parse_time"]

_MS = r"(?P<ms>[0-9]{1,15})"
_AGE = r"(?P<age>[0-9]{1,9}(?:\.[0-9]{1,6})?(?:ms|s|min|m|h|d|w))"
_ISO = (
    r"(?P<y>(?!0000)[0-9]{4})-(?P<mo>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12][0-9]|3[01])"
    r"(?:[T ](?P<h>[01][0-9]|2[0-3]):(?P<mi>[0-5][0-9])"
    r"(?::(?P<s>[0-5][0-9])(?:\.(?P<f>[0-9]{1,6}))?)?)?"
    r"(?P<tz>Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_BODY = f"(?:{_MS}|{_AGE}|{_ISO})"
_TIME = re.compile(_BODY)
_LATEST = 2**53 - 1  # a bound every store and JSON client can hold

TimeSpec = Annotated[str, Rule({"pattern": f"^{_BODY}{END}".replace("?P<", "?<")})]
"""``2026-01-31``, ``2026-01-31T12:00Z``, ``2026-01-31T12:00:00.5+02:00``, epoch
milliseconds, or an age such as ``7d``, ``12h``, ``30min``."""


def _iso_ms(m: re.Match[str]) -> int:
    # day-of-month beyond the month's end rolls over (2026-02-30 is March 2): a filter
    # bound, not a calendar check
    seconds = calendar.timegm(
        (int(m["y"]), int(m["mo"]), 1, int(m["h"] or 0), int(m["mi"] or 0), int(m["s"] or 0))
    )
    seconds += (int(m["d"]) - 1) * 86_400
    tz = m["tz"]
    if tz and tz != "Z":
        offset = int(tz[1:3]) * 3600 + int(tz[4:6]) * 60
        seconds -= offset if tz[0] == "+" else -offset
    return seconds * 1000 + int((m["f"] or "0").ljust(3, "0")[:3])


def parse_time(value: str | int, what: str = "time", *, now: int | None = None) -> int:
    """Epoch milliseconds (UTC, clamped to 0 … 2**53-1) of ``value``.

    ``"2026-01-31"`` and ``"2026-01-31T12:00:00Z"`` (no zone: UTC), a plain integer
    of epoch milliseconds, or an age before ``now`` such as ``"7d"``, ``"12h"``, ``"30m"``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 0), _LATEST)
    m = _TIME.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ValidationFailed(
            f"bad {what} {value!r}: use an ISO date or time (2026-01-31, "
            "2026-01-31T12:00Z), epoch milliseconds, or an age such as 7d or 12h"
        )
    if m["ms"] is not None:
        ms = int(m["ms"])
    elif m["age"] is not None:
        ms = (now_ms() if now is None else now) - int(parse_duration(m["age"]) * 1000)
    else:
        ms = _iso_ms(m)
    return min(max(ms, 0), _LATEST)
