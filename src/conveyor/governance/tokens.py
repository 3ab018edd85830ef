"""API token secrets: generation, parsing, hashing and constant-time verification.

A token reads ``cvy_<id>_<secret>``: ``id`` (12 hex characters) is the lookup key stored in
the clear, ``secret`` (43 URL-safe characters, 256 bits from ``secrets``) is stored only as
its sha256. A high-entropy secret needs no slow hash; comparison is ``hmac.compare_digest``
so timing reveals nothing about how much of a guess matched. The full token is shown once,
when created, and never logged, audited or echoed in an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from conveyor.errors import ValidationFailed

__all__ = ["PREFIX", "ParsedToken", "hash_secret", "new_token", "parse_duration", "parse_token"]

PREFIX = "cvy_"
_TOKEN = re.compile(r"^cvy_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


@dataclass(frozen=True)
class ParsedToken:
    """The two halves of a presented token (``repr`` hides the secret)."""

    token_id: str
    secret: str

    def __repr__(self) -> str:
        return f"ParsedToken({self.token_id!r}, secret=***)"

    def matches(self, stored_sha256: str) -> bool:
        """Constant-time comparison of this secret's sha256 with the stored one."""
        return hmac.compare_digest(hash_secret(self.secret), stored_sha256)


def new_token() -> tuple[str, str, str]:
    """A fresh token: ``(token_id, full token text, sha256 of its secret)``."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{PREFIX}{token_id}_{secret}", hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(text: str) -> ParsedToken | None:
    """The id and secret of a well-formed token, or None (never says what was wrong)."""
    match = _TOKEN.match(text)
    return None if match is None else ParsedToken(match.group(1), match.group(2))


def parse_duration(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as milliseconds."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ValidationFailed(
            f"expiry must be a positive number and a unit (s, m, h, d, w) like 30d or 12h, "
            f"got {text!r}"
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]
