"""Human oversight: manual interventions on a deployment must say why.

Every manual override, stop, pause and rollback (and a rollout's abort or manual promote)
is its own audit event carrying the operator's reason (EU AI Act Art. 14). The services
call :func:`require_reason` before changing anything, so SDK, CLI and REST refuse alike.
"""

from __future__ import annotations

import re
from typing import Annotated

from conveyor._schema import Rule
from conveyor.errors import ValidationFailed

__all__ = ["REASON_MAX", "Reason", "require_reason"]

REASON_MAX = 2000
# "has a visible character": spelled out, so Python and JSON Schema (ECMA-262) agree on
# what counts as white space
_BLANK = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_VISIBLE = f"[^{_BLANK}]"
_HAS_VISIBLE = re.compile(_VISIBLE)
_EDGES = re.compile(f"^[{_BLANK}]+|[{_BLANK}]+$")

Reason = Annotated[str, Rule({"pattern": _VISIBLE, "minLength": 1, "maxLength": REASON_MAX})]
"""Why an operator intervenes: required, with at least one visible character."""


def require_reason(reason: str | None, action: str, endpoint: str) -> str:
    """``reason`` stripped; ValidationFailed naming the action when it is missing/blank.

    ``action`` is the verb phrase the message uses (``"roll back"``, ``"pause the rollout
    on"``); the CLI flag of every such command is ``--reason``."""
    if not isinstance(reason, str | None):
        raise ValidationFailed(f"reason must be text, got {type(reason).__name__}")
    text = _EDGES.sub("", reason or "")
    if len(text) > REASON_MAX:
        raise ValidationFailed(f"a reason has at most {REASON_MAX} characters, got {len(text)}")
    if not _HAS_VISIBLE.search(text):
        raise ValidationFailed(
            f"a reason is required to {action} {endpoint!r}: manual interventions are "
            "audited with why they were made (human oversight). Pass reason='...' "
            "(CLI: --reason '...')"
        )
    return text
