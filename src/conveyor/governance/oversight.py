"""Human oversight: manual interventions on a deployment must say why.

Every manual override, stop, pause and rollback (and a rollout's abort or manual promote)
is its own audit event carrying the operator's reason (EU AI Act Art. 14). The services
call :func:`require_reason` before changing anything, so SDK, CLI and REST refuse alike.
"""

from __future__ import annotations

from conveyor.errors import ValidationFailed

__all__ = ["require_reason"]


def require_reason(reason: str | None, action: str, endpoint: str) -> str:
    """``reason`` stripped; ValidationFailed naming the action when it is missing/blank.

    ``action`` is the verb phrase the message uses (``"roll back"``, ``"pause the rollout
    on"``); the CLI flag of every such command is ``--reason``."""
    text = (reason or "").strip()
    if not isinstance(reason, str | None):
        raise ValidationFailed(f"reason must be text, got {type(reason).__name__}")
    if not text:
        raise ValidationFailed(
            f"a reason is required to {action} {endpoint!r}: manual interventions are "
            "audited with why they were made (human oversight). Pass reason='...' "
            "(CLI: --reason '...')"
        )
    return text
