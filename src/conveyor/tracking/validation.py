"""Checks on what users log, shared by the SDK (at the call) and the store (on arrival).

The SDK buffers metrics, params and tags; every check runs when the user makes the call,
so a bad value fails there, naming itself, instead of failing a whole batch later.
"""

from __future__ import annotations

import re
from typing import Any

from conveyor.errors import ValidationFailed

__all__ = [
    "MAX_PARAM_LENGTH",
    "MAX_STEP",
    "check_key",
    "check_point",
    "check_str_map",
    "check_text_value",
]

MAX_PARAM_LENGTH = 6000
MAX_STEP = 2**63 - 1
_MAX_TIMESTAMP = 2**63 - 1


#: metric, param and tag keys: any language's letters and digits (MLflow's rule), plus
#: '_', '.', '-', '/', ':' and spaces; 1-250 characters, no surrounding spaces.
_KEY = re.compile(r"^[^\W_][\w.\-/ :]{0,249}$")


def check_key(value: object, what: str) -> str:
    """Validate a metric, param or tag key and return it (Unicode letters allowed)."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{what} must be a string, got {type(value).__name__}")
    if not _KEY.match(value) or value != value.strip() or "//" in value:
        raise ValidationFailed(
            f"invalid {what} {value!r}: use 1-250 characters from letters (any language), "
            "digits, '_', '-', '.', '/', ':' and spaces, starting with a letter or digit, "
            "without surrounding spaces"
        )
    return value


def check_point(key: str, value: Any, step: Any, timestamp: Any) -> float:
    """Validate one metric point (key already checked); returns the value as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)  # numpy scalars, Decimal ...
        except (TypeError, ValueError, OverflowError):
            raise ValidationFailed(
                f"metric {key!r} value must be a number, got {type(value).__name__} ({value!r:.50})"
            ) from None
    try:
        number = float(value)
    except OverflowError:
        raise ValidationFailed(
            f"metric {key!r} value {value!r:.50} is too large for a float; log it scaled"
        ) from None
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise ValidationFailed(
            f"metric {key!r} step must be an integer from 0 to 2**63-1, got {step!r:.50}"
        )
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, int)
        or not 0 <= timestamp <= _MAX_TIMESTAMP
    ):
        raise ValidationFailed(
            f"metric {key!r} timestamp must be integer epoch milliseconds, got {timestamp!r:.50}"
        )
    return number


def check_text_value(key: str, value: Any, what: str) -> str:
    """A param or tag value as text, within the length limit."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_LENGTH:
        raise ValidationFailed(
            f"{what} {key!r} is {len(text)} characters; the limit is {MAX_PARAM_LENGTH}. "
            "Log long values as an artifact instead."
        )
    return text


def check_str_map(values: Any, what: str) -> dict[str, str]:
    """Validate a mapping of params or tags; returns it with text values."""
    if not isinstance(values, dict):
        raise ValidationFailed(f"{what}s must be a mapping of name to value")
    return {
        check_key(key, f"{what} key"): check_text_value(key, value, what)
        for key, value in values.items()
    }
