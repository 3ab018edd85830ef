"""One error hierarchy for every Conveyor surface (SDK, CLI, REST API).

::

    ConveyorError                  500  internal      something unexpected
    ├── ValidationFailed           422  invalid       bad input: names, types, filters, payloads
    │   ├── MalformedRequest       400  malformed     unreadable body (bad JSON, bad encoding)
    │   └── LimitExceeded          400  limit_exceeded input past a documented bound (filter size)
    ├── NotFound                   404  not_found     unknown run, model, version, dataset ...
    ├── Conflict                   409  conflict      a write that contradicts what is stored
    ├── Unauthenticated            401  unauthenticated  missing, malformed, expired, revoked token
    ├── PermissionDenied           403  forbidden     the actor may not do this
    ├── PayloadTooLarge            413  too_large     request body over the configured limit
    ├── IntegrityError             409  integrity     stored bytes do not match their sha256
    ├── GateFailed                 409  gate_failed   a validation gate blocked the action
    ├── ApprovalRequired           409  approval_required  the target needs an approved request
    ├── StoreUnavailable           503  unavailable   database, artifact store or server unreachable
    │   ├── QueryTimeout           503  query_timeout  a query ran past the statement timeout
    │   └── Overloaded             503  overloaded    too many large requests in flight; retry later
    └── ModelError                 503  model_error   a model raised while predicting

Every error carries a short ``message`` that says what was wrong and what to do, a stable
``code``, the HTTP ``status`` the API answers with, and ``details`` (a JSON-able dict).
The REST API serialises them as ``{"error": {"code", "message", "details"}}`` and the HTTP
client turns that body back into the same exception class, so SDK users catch the same
types in local and remote mode.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ApprovalRequired",
    "Conflict",
    "ConveyorError",
    "GateFailed",
    "IntegrityError",
    "LimitExceeded",
    "MalformedRequest",
    "ModelError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "QueryTimeout",
    "StoreUnavailable",
    "Unauthenticated",
    "ValidationFailed",
    "error_from_payload",
]


class ConveyorError(Exception):
    """Base of every error Conveyor raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    headline: ClassVar[str] = "Conveyor error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_payload(self) -> dict[str, Any]:
        """The JSON body the REST API answers with."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(ConveyorError):
    """Input that cannot be accepted: a bad name, type, value or filter."""

    status = 422
    code = "invalid"
    headline = "Invalid input"


class MalformedRequest(ValidationFailed):
    """A request body that cannot be read at all (malformed JSON, wrong encoding)."""

    status = 400
    code = "malformed"
    headline = "Malformed request"


class LimitExceeded(ValidationFailed):
    """Input past one of the documented bounds (e.g. the number of clauses of a filter)."""

    status = 400
    code = "limit_exceeded"
    headline = "Limit exceeded"


class NotFound(ConveyorError):
    """The named object does not exist."""

    status = 404
    code = "not_found"
    headline = "Not found"


class Conflict(ConveyorError):
    """The write contradicts stored state (e.g. a param re-logged with another value)."""

    status = 409
    code = "conflict"
    headline = "Conflict"


class Unauthenticated(ConveyorError):
    """The request carries no valid credentials (missing, malformed, expired or revoked)."""

    status = 401
    code = "unauthenticated"
    headline = "Not authenticated"


class PermissionDenied(ConveyorError):
    """The actor lacks the role this action needs."""

    status = 403
    code = "forbidden"
    headline = "Permission denied"


class PayloadTooLarge(ConveyorError):
    """The request body is larger than the configured limit."""

    status = 413
    code = "too_large"
    headline = "Payload too large"


class IntegrityError(ConveyorError):
    """Stored bytes do not match the sha256 recorded for them."""

    status = 409
    code = "integrity"
    headline = "Integrity check failed"


class GateFailed(ConveyorError):
    """A validation gate blocked the action."""

    status = 409
    code = "gate_failed"
    headline = "Validation gate failed"


class ApprovalRequired(ConveyorError):
    """A protected alias or deployment accepts only a version with an approved request."""

    status = 409
    code = "approval_required"
    headline = "Approval required"


class StoreUnavailable(ConveyorError):
    """The metadata store, artifact store or server cannot be reached."""

    status = 503
    code = "unavailable"
    headline = "Service unavailable"


class QueryTimeout(StoreUnavailable):
    """A database query ran longer than the statement timeout and was stopped."""

    code = "query_timeout"
    headline = "Query timed out"


class Overloaded(StoreUnavailable):
    """The server is at its limit of large requests in flight; ``details`` has retry_after."""

    code = "overloaded"
    headline = "Server busy"


class ModelError(ConveyorError):
    """A model raised while predicting."""

    status = 503
    code = "model_error"
    headline = "Model error"


_BY_CODE: dict[str, type[ConveyorError]] = {
    cls.code: cls
    for cls in (
        ConveyorError,
        ValidationFailed,
        MalformedRequest,
        LimitExceeded,
        NotFound,
        Conflict,
        Unauthenticated,
        PermissionDenied,
        PayloadTooLarge,
        IntegrityError,
        GateFailed,
        ApprovalRequired,
        StoreUnavailable,
        QueryTimeout,
        Overloaded,
        ModelError,
    )
}


def error_from_payload(payload: Any, status: int) -> ConveyorError:
    """Rebuild the typed error from an API error body (used by the HTTP client)."""
    body = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(body, dict):
        return ConveyorError(f"server answered HTTP {status}: {payload!r}"[:500])
    cls = _BY_CODE.get(str(body.get("code")), ConveyorError)
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    return cls(str(body.get("message", f"HTTP {status}")), details=details)
