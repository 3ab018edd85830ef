"""The user-written parts of a model card (intended use, limitations, owners …), stored
with the model version and changed only through :func:`set_card_fields` (audited).

The vocabulary follows the Model Card Toolkit's field names; each field is text or a list
of texts (``ethical_considerations`` items may be ``"risk: mitigation"``)::

    overview, documentation, owners, licenses, references, citations,
    users, use_cases, out_of_scope_uses, limitations, tradeoffs, ethical_considerations

A YAML/JSON file with these keys sets several at once (``conveyor models card-set
churn/3 --from card.yaml``).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from conveyor._schema import Name, VersionNumber
from conveyor.errors import ValidationFailed
from conveyor.registry import service as registry
from conveyor.store import UnitOfWork

__all__ = ["CARD_TAG", "FIELDS", "card_fields", "set_card_fields"]

#: the model version tag that holds the fields (a JSON object)
CARD_TAG = "conveyor.card"

TEXT_FIELDS = ("overview", "documentation")
LIST_FIELDS = (
    "owners",
    "licenses",
    "references",
    "citations",
    "users",
    "use_cases",
    "out_of_scope_uses",
    "limitations",
    "tradeoffs",
    "ethical_considerations",
)
FIELDS = TEXT_FIELDS + LIST_FIELDS
MAX_TEXT = 20_000


def _clean(key: str, value: Any) -> Any:
    if key in TEXT_FIELDS:
        if not isinstance(value, str):
            raise ValidationFailed(f"card field {key!r} must be text, got {type(value).__name__}")
        return value.strip()[:MAX_TEXT]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ValidationFailed(f"card field {key!r} must be a text or a list of texts")
    return [v.strip()[:MAX_TEXT] for v in items if v.strip()]


def card_fields(conn: sa.Connection, name: str, version: int | str) -> dict[str, Any]:
    """The user-written card fields of ``name/version`` ({} when none were set)."""
    mv = registry.get_model_version(conn, name, version)
    return _parse(mv.tags.get(CARD_TAG))


def _parse(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if k in FIELDS} if isinstance(data, dict) else {}


def set_card_fields(
    uow: UnitOfWork,
    name: Name,
    version: VersionNumber,
    fields: dict[str, Any],
    replace: bool = False,
) -> dict[str, Any]:
    """Set model card fields of ``name/version`` (merged into those already set unless
    ``replace``; an empty text or list removes a field). Answers every field now set."""
    if not isinstance(fields, dict):
        raise ValidationFailed("fields must be an object of card fields")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            f"unknown model card field(s) {', '.join(map(repr, unknown))}; "
            f"the fields are: {', '.join(FIELDS)}",
            details={"unknown": unknown, "fields": list(FIELDS)},
        )
    mv = registry.get_model_version(uow.conn, name, version)
    current = {} if replace else _parse(mv.tags.get(CARD_TAG))
    for key, value in fields.items():
        cleaned = _clean(key, value)
        if cleaned:
            current[key] = cleaned
        else:
            current.pop(key, None)
    registry.set_model_version_tag(
        uow, mv.name, mv.version, CARD_TAG, json.dumps(current, sort_keys=True)
    )
    return current
