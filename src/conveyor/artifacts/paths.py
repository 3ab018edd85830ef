"""The one rule for paths inside a run's artifacts or a model folder.

A path is relative and POSIX: segments separated by ``/``, each a valid, printable UTF-8
name. Refused, with :data:`PATH_RULE` in the message: an absolute path, a ``..`` segment, a
backslash, a drive letter (``C:``), NUL or other control characters, text that is not valid
UTF-8 (lone surrogates, or U+FFFD — what a server decodes an overlong or invalid byte
sequence into), a segment over 255 bytes or a path over 1024 bytes. Empty and ``.``
segments are dropped (``a//./b`` is ``a/b``).
"""

from __future__ import annotations

import re

from conveyor.errors import ValidationFailed

__all__ = ["MAX_PATH_BYTES", "MAX_SEGMENT_BYTES", "PATH_RULE", "check_relative_path"]

MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 1024
PATH_RULE = (
    "artifact paths must be relative POSIX paths: '/'-separated names of valid UTF-8 "
    "without control characters or backslashes, no '..', no leading '/', no drive letter "
    "such as 'C:', at "
    f"most {MAX_SEGMENT_BYTES} bytes per name and {MAX_PATH_BYTES} bytes in all"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _problem(path: str, parts: list[str]) -> str | None:
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid UTF-8"
    if "\ufffd" in path:
        return "it is not valid UTF-8 (it holds U+FFFD, the mark of an invalid byte sequence)"
    if _CONTROL.search(path):
        return "it holds a NUL or another control character"
    if "\\" in path:
        return "it holds a backslash"
    if path.startswith("/"):
        return "it is absolute"
    if _DRIVE.match(path):
        return "it starts with a drive letter"
    if ".." in parts:
        return "it has a '..' segment"
    if not parts:
        return "it is empty"
    if len(encoded) > MAX_PATH_BYTES:
        return f"it is {len(encoded)} bytes long"
    long = next((p for p in parts if len(p.encode("utf-8")) > MAX_SEGMENT_BYTES), None)
    if long is not None:
        return f"the name {long[:20]!r}... is {len(long.encode('utf-8'))} bytes long"
    return None


def check_relative_path(path: object, what: str = "artifact path") -> str:
    """``path`` normalised (empty and ``.`` segments dropped); ValidationFailed naming what
    is wrong and the rule otherwise."""
    if not isinstance(path, str):
        raise ValidationFailed(f"{what} must be a string, got {type(path).__name__}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    problem = _problem(path, parts)
    if problem is not None:
        shown = path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise ValidationFailed(
            f"invalid {what} {shown[:200]!r}: {problem}; {PATH_RULE}",
            details={"path": shown[:200], "rule": PATH_RULE},
        )
    return "/".join(parts)
